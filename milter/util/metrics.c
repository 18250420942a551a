/* metrics.c - the Prometheus text exposition format */
#include "config.h"

#include <math.h>
#include <string.h>

#include "util/metrics.h"

bool
sw_metrics_family(struct sw_buf *b, const char *name, enum sw_metric_type type, const char *help)
{
    return sw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                         type == SW_METRIC_COUNTER ? "counter" : "gauge");
}

/* add_label_value - escaped and capped (the format: \\ \" \n); runs of
 * plain bytes are appended at once */
static bool
add_label_value(struct sw_buf *b, const char *v)
{
    size_t i = 0, run;
    unsigned char c;
    bool ok = sw_buf_addc(b, '"');

    while (ok && v[i] && i < SW_METRICS_LABEL_MAX) {
        for (run = i; v[run] && run < SW_METRICS_LABEL_MAX; run++) {
            c = (unsigned char) v[run];
            if (c == '\\' || c == '"' || c < 0x20 || c == 0x7f)
                break;
        }
        ok = sw_buf_add(b, v + i, run - i);
        if (!ok || !v[run] || run >= SW_METRICS_LABEL_MAX)
            break;
        c = (unsigned char) v[run];
        if (c == '\\' || c == '"')
            ok = sw_buf_addc(b, '\\') && sw_buf_addc(b, (char) c);
        else if (c == '\n')
            ok = sw_buf_adds(b, "\\n");
        else
            ok = sw_buf_addc(b, '?');
        i = run + 1;
    }
    return ok && sw_buf_addc(b, '"');
}

bool
sw_metrics_sample(struct sw_buf *b, const char *name, const char *const *labels, double value)
{
    bool ok = sw_buf_adds(b, name);
    size_t i;

    if (labels && labels[0]) {
        ok = ok && sw_buf_addc(b, '{');
        for (i = 0; ok && labels[i] && labels[i + 1]; i += 2)
            ok = (i == 0 || sw_buf_addc(b, ',')) && sw_buf_adds(b, labels[i])
                 && sw_buf_addc(b, '=') && add_label_value(b, labels[i + 1]);
        ok = ok && sw_buf_addc(b, '}');
    }
    if (isnan(value))
        return ok && sw_buf_adds(b, " NaN\n");
    if (value > -1e15 && value < 1e15 && value == (double) (long long) value)
        return ok && sw_buf_printf(b, " %lld\n", (long long) value);
    return ok && sw_buf_printf(b, " %.6f\n", value);
}
