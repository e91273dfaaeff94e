#!/bin/sh
# The main job: builds budgetwatch if needed, starts budgetwatchd on the bundled
# Zunhua 2022 plan with the event clock, replays one generated year of payments
# through `budgetwatch push`, shows the alerts as they fire with `budgetwatch
# watch`, and ends with the `budgetwatch status` table, `budgetwatch verify` and
# June's 执行进度表 (build/demo-2022-06.xlsx) with its 通报. Takes well under a minute.
# With --web it then keeps the daemon running with budgetwatch-web beside it and
# prints the console's URL and a demo login (port: BW_WEB_PORT, default 8680),
# until Ctrl-C.
set -eu
web=""
case "${1:-}" in
    --web) web=yes ;;
    "") ;;
    *) echo "usage: $0 [--web]" >&2; exit 2 ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/build.sh" >/dev/null
bin="$top/build"
work=$(mktemp -d /tmp/budgetwatch-demo.XXXXXX)
daemon_pid=""; watch_pid=""; web_pid=""
cleanup() {
    [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
    [ -n "$web_pid" ] && kill "$web_pid" 2>/dev/null && wait "$web_pid" 2>/dev/null || true
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

plan="$top/examples/zunhua-2022/plan.csv"
cat > "$work/budgetwatchd.conf" <<CONF
[daemon]
plan = $plan
state_dir = $work
runtime_dir = $work
fiscal_year = 2022
clock = event
[endpoints]
events_ack = ipc://$work/events.sock
alerts_pub = ipc://$work/alerts.sock
control = ipc://$work/control.sock
[alerts]
# Reminders off: the story shows each change once.
repeat_interval = 0
heartbeat_interval = 1s
CONF
export BUDGETWATCH_CONTROL="ipc://$work/control.sock"
export BUDGETWATCH_EVENTS="ipc://$work/events.sock"
export BUDGETWATCH_ALERTS="ipc://$work/alerts.sock"

echo "== budgetwatch demo: 遵化市人力资源和社会保障局 2022 (27 projects, 3 budget units)"
echo "   plan: $plan"
"$bin/daemon/budgetwatchd" -c "$work/budgetwatchd.conf" 2>"$work/daemon.log" &
daemon_pid=$!
"$bin/clients/budgetwatch" ping --wait 30 >/dev/null

/usr/bin/python3 "$top/examples/zunhua-2022/generate.py" --plan "$plan" \
    --events "$work/events.csv" --expected "$work/expected.json"
echo "   $(($(wc -l < "$work/events.csv") - 1)) payment events generated for 2022 (seed 2022)"
echo

# The supervisor's view: every alert as it fires; watch exits once the stream
# has been quiet for 3 seconds after the year is over.
"$bin/clients/budgetwatch" watch --timeout 3 --ready-file "$work/live" &
watch_pid=$!
while [ ! -e "$work/live" ]; do
    kill -0 "$watch_pid" 2>/dev/null || { echo "demo: watch did not start" >&2; exit 1; }
    sleep 0.1
done
"$bin/clients/budgetwatch" push --quiet "$work/events.csv"
"$bin/clients/budgetwatch" advance --to 2023-01-01T00:00:00+08:00 >/dev/null
wait "$watch_pid" || true
watch_pid=""

echo
echo "== Year-end status (部门整体 = the whole department)"
"$bin/clients/budgetwatch" status --sort lag
echo
"$bin/clients/budgetwatch" verify
echo
# The monthly 执行进度表 as a bureau sends it upstairs, as of the end of June.
echo "== The June progress table (执行进度表) and its 通报: $bin/demo-2022-06.xlsx"
"$bin/clients/budgetwatch" report --month 2022-06 --bureau 遵化市财政局 \
    --xlsx "$bin/demo-2022-06.xlsx"

[ -n "$web" ] || exit 0
# The console: a demo handler, the daemon's sockets, the source tree's static files.
port=${BW_WEB_PORT:-8680}
echo "demo-2022-pass" | "$bin/clients/web/budgetwatch-web" passwd -f "$work/web-accounts" demo handler 2>/dev/null
cat > "$work/budgetwatch-web.conf" <<CONF
[web]
listen = 127.0.0.1:$port
accounts = $work/web-accounts
static_dir = $top/clients/web/static
[daemon]
control = ipc://$work/control.sock
alerts = ipc://$work/alerts.sock
CONF
"$bin/clients/web/budgetwatch-web" -c "$work/budgetwatch-web.conf" 2>"$work/web.log" &
web_pid=$!
echo
echo "== The console: http://127.0.0.1:$port/   user: demo   password: demo-2022-pass"
echo "   (the daemon and the console keep running; Ctrl-C stops both)"
wait "$web_pid"
