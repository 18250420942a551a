-- tests/milter/protocol.lua - spillway-milter over the milter protocol (miltertest)
--
-- Run by tests/milter-protocol.sh, which starts spillway-milter on $MT_SOCKET
-- and checks the evidence records it sends.  Every reply must be "continue"
-- (or "skip" for a body spillway does not need): nothing is ever rejected.

local sock = os.getenv("MT_SOCKET")
local bounce = os.getenv("MT_BOUNCE")
assert(sock and bounce and os.getenv("MT_PID"), "MT_SOCKET, MT_BOUNCE and MT_PID must be set")

local function check(err, what)
    if err ~= nil then error(what .. ": " .. tostring(err)) end
end

local function expect_continue(conn, what)
    local r = mt.getreply(conn)
    if r ~= SMFIR_CONTINUE then
        error(what .. ": expected continue, got " .. tostring(r))
    end
end

-- miltertest does not print why a script failed: main() runs under pcall
-- and the reason is echoed.
local function main()
-- 1. negotiation: only the steps spillway needs
local conn = mt.connect(sock, 40, 0.25)
assert(conn, "cannot connect to " .. sock)
check(mt.negotiate(conn, nil, nil, nil), "negotiate")
assert(mt.test_action(conn, SMFIF_ADDHDRS), "does not ask to add headers")
assert(not mt.test_action(conn, SMFIF_CHGBODY), "asks to change bodies")
assert(not mt.test_action(conn, SMFIF_DELRCPT), "asks to delete recipients")
assert(mt.test_option(conn, SMFIP_NOHELO), "wants HELO")
assert(mt.test_option(conn, SMFIP_NORCPT), "wants RCPT")
assert(mt.test_option(conn, SMFIP_NR_HDR), "wants to answer each header")
assert(mt.test_option(conn, SMFIP_SKIP), "does not use SMFIS_SKIP")
mt.echo("negotiation: ok")

-- 2. outbound mail (a loopback client, milter.outbound's default): tagged,
-- body skipped
check(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo")
check(mt.mailfrom(conn, "<alice@org.example>"), "mailfrom")
check(mt.header(conn, "From", "alice@org.example"), "header")
check(mt.header(conn, "Message-ID", "<m1@org.example>"), "header")
check(mt.eoh(conn), "eoh")
check(mt.bodystring(conn, "Hello.\r\n"), "body")
local r = mt.getreply(conn)
assert(r == SMFIR_SKIP or r == SMFIR_CONTINUE, "body: reply " .. tostring(r))
check(mt.eom(conn), "eom")
expect_continue(conn, "eom (outbound)")
assert(mt.eom_check(conn, MT_HDRADD, "X-Spillway-Tag"), "no X-Spillway-Tag added")
local tag = mt.getheader(conn, "X-Spillway-Tag", 0)
assert(tag and string.find(tag, "^v=1; t=%d+; k=proto; h=[%w_-]+$"), "tag: " .. tostring(tag))
mt.echo("outbound tagged: " .. tag)

-- 2b. inbound mail (a client on the Internet): never tagged, or whoever
-- mails us would get a valid tag back
local inb = mt.connect(sock, 40, 0.25)
assert(inb, "cannot connect to " .. sock)
check(mt.negotiate(inb, nil, nil, nil), "negotiate")
check(mt.conninfo(inb, "client.example", "192.0.2.10"), "conninfo")
check(mt.mailfrom(inb, "<stranger@elsewhere.example>"), "mailfrom")
check(mt.header(inb, "From", "stranger@elsewhere.example"), "header")
check(mt.header(inb, "Message-ID", "<in1@elsewhere.example>"), "header")
check(mt.eoh(inb), "eoh")
check(mt.bodystring(inb, "Hello.\r\n"), "body")
r = mt.getreply(inb)
assert(r == SMFIR_SKIP or r == SMFIR_CONTINUE, "body: reply " .. tostring(r))
check(mt.eom(inb), "eom")
expect_continue(inb, "eom (inbound)")
assert(not mt.eom_check(inb, MT_HDRADD, "X-Spillway-Tag"), "inbound mail was tagged")
assert(not mt.eom_check(inb, MT_HDRADD), "a header was added to inbound mail")
mt.echo("inbound not tagged")

-- 2c. the same client after SMTP AUTH ({auth_authen} with MAIL FROM):
-- outbound, tagged
check(mt.macro(inb, SMFIC_MAIL, "{auth_authen}", "alice"), "macro")
check(mt.mailfrom(inb, "<alice@org.example>"), "mailfrom")
check(mt.header(inb, "Message-ID", "<m-auth@org.example>"), "header")
check(mt.eoh(inb), "eoh")
check(mt.eom(inb), "eom")
expect_continue(inb, "eom (authenticated)")
assert(mt.eom_check(inb, MT_HDRADD, "X-Spillway-Tag"), "authenticated sender's mail not tagged")
mt.echo("authenticated sender tagged")

-- 3. a bounce (null sender): read, never changed
check(mt.mailfrom(inb, "<>"), "mailfrom <>")
local f = assert(io.open(bounce, "rb"))
local msg = f:read("*a")
f:close()
local head, body = string.match(msg, "^(.-)\r?\n\r?\n(.*)$")
local nheaders = 0
for line in string.gmatch(head .. "\r\n", "(.-)\r?\n") do -- (no folded lines in it)
    local name, value = string.match(line, "^([%w-]+):[ \t]*(.*)$")
    assert(name, "bounce header line: " .. line)
    check(mt.header(inb, name, value), "bounce header " .. name)
    nheaders = nheaders + 1
end
assert(nheaders == 5, "bounce headers sent: " .. nheaders)
check(mt.eoh(inb), "eoh")
check(mt.bodystring(inb, body), "bounce body")
expect_continue(inb, "body (bounce)")
check(mt.eom(inb), "eom")
expect_continue(inb, "eom (bounce)")
assert(not mt.eom_check(inb, MT_HDRADD), "a header was added to a bounce")
assert(not mt.eom_check(inb, MT_BODYCHANGE), "a bounce body was changed")
mt.echo("bounce read, unchanged")

-- 4. a null-sender message that is no bounce at all: continue
check(mt.mailfrom(inb, "<>"), "mailfrom <>")
check(mt.header(inb, "Content-Type", "multipart/report; boundary=\"x\""), "header")
check(mt.eoh(inb), "eoh")
check(mt.bodystring(inb, "--x\r\n\r\n\0\255garbage\r\n--x\r\n--x--"), "body")
check(mt.eom(inb), "eom")
expect_continue(inb, "eom (garbage)")
mt.echo("garbage: continue")

-- 5. an aborted transaction, then a reload (SIGUSR1), then more mail
check(mt.mailfrom(conn, "<bob@org.example>"), "mailfrom")
check(mt.abort(conn), "abort")
assert(os.execute("kill -USR1 " .. os.getenv("MT_PID")), "kill -USR1")
mt.sleep(0.5)
check(mt.mailfrom(conn, "<bob@org.example>"), "mailfrom")
check(mt.header(conn, "Message-ID", "<m2@org.example>"), "header")
check(mt.eoh(conn), "eoh")
check(mt.eom(conn), "eom")
expect_continue(conn, "eom after reload")
assert(mt.eom_check(conn, MT_HDRADD, "X-Spillway-Tag"), "not tagged after reload")
mt.disconnect(inb)
mt.disconnect(conn)
mt.echo("protocol: ok")
end

local ok, err = pcall(main)
if not ok then
    mt.echo("protocol.lua: " .. tostring(err))
    error(err)
end
