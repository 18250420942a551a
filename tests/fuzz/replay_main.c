/* replay_main.c - run a fuzz target over saved inputs, without libFuzzer */

/*
 * Linked with one fuzz_X.c into tests/fuzz/replay_X, so the seed corpora
 * (and every crash kept in them) replay in "make check" with the normal
 * compiler.  Each argument is a file or a directory; a directory's regular
 * files are read in sorted name order so runs are repeatable.  A target
 * that finds a broken invariant abort()s, which fails the test.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs larger than this are not fuzz seeds: refuse rather than guess. */
#define REPLAY_MAX_INPUT (16u * 1024u * 1024u)

/* read_file - the whole file into a fresh buffer (never NULL on success) */
static bool
read_file(const char *path, uint8_t **data, size_t *size)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t len = 0, n;
    bool ok = false;
    FILE *fp;

    if ((fp = fopen(path, "rb")) == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return false;
    }
    if (fstat(fileno(fp), &st) != 0 || st.st_size < 0
        || (uintmax_t) st.st_size > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: %s: cannot size the file or too large\n", path);
        goto done;
    }
    /* One spare byte: a zero-length input still gets a valid pointer. */
    if ((buf = malloc((size_t) st.st_size + 1)) == NULL) {
        fprintf(stderr, "replay: %s: out of memory\n", path);
        goto done;
    }
    while ((n = fread(buf + len, 1, (size_t) st.st_size + 1 - len, fp)) > 0) {
        len += n;
        if (len > (size_t) st.st_size) {
            fprintf(stderr, "replay: %s: file grew while reading\n", path);
            goto done;
        }
    }
    if (ferror(fp)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        goto done;
    }
    *data = buf;
    *size = len;
    buf = NULL;
    ok = true;
done:
    free(buf);
    (void) fclose(fp);
    return ok;
}

/* run_file - one input */
static bool
run_file(const char *path, size_t *count)
{
    uint8_t *data;
    size_t size;

    if (!read_file(path, &data, &size))
        return false;
    (void) LLVMFuzzerTestOneInput(data, size);
    free(data);
    (*count)++;
    return true;
}

/* by_name - qsort comparator for file names */
static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* join - "dir/name" in a fresh string */
static char *
join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p;

    if (dl > SIZE_MAX - nl - 2 || (p = malloc(dl + nl + 2)) == NULL)
        return NULL;
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}

/* run_dir - every regular file of a directory, in sorted order */
static bool
run_dir(const char *dir, size_t *count)
{
    char **names = NULL, **grown, *path;
    size_t n = 0, cap = 0, i;
    struct dirent *de;
    struct stat st;
    bool ok = false;
    DIR *d;

    if ((d = opendir(dir)) == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return false;
    }
    while ((errno = 0, de = readdir(d)) != NULL) {
        if ((path = join(dir, de->d_name)) == NULL)
            goto nomem;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path); /* not ".", "..", subdirectories, dangling links */
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            if (cap > SIZE_MAX / sizeof(*names)
                || (grown = realloc(names, cap * sizeof(*names))) == NULL) {
                free(path);
                goto nomem;
            }
            names = grown;
        }
        names[n++] = path;
    }
    if (errno != 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        goto done;
    }
    qsort(names, n, sizeof(*names), by_name);
    ok = true;
    for (i = 0; i < n; i++)
        ok = run_file(names[i], count) && ok;
    goto done;
nomem:
    fprintf(stderr, "replay: %s: out of memory\n", dir);
done:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    (void) closedir(d);
    return ok;
}

/* main - replay every argument */
int
main(int argc, char **argv)
{
    size_t count = 0;
    struct stat st;
    bool ok = true;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            ok = false;
        } else if (S_ISDIR(st.st_mode)) {
            ok = run_dir(argv[i], &count) && ok;
        } else {
            ok = run_file(argv[i], &count) && ok;
        }
    }
    printf("replay: %zu inputs\n", count);
    return ok ? 0 : 1;
}
