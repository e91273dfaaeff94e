#!/bin/sh
# The main job: builds budgetwatch if needed, starts budgetwatchd on the bundled
# Zunhua 2022 plan with the event clock, replays one generated year of payments
# through `budgetwatch push`, shows the alerts as they fire with `budgetwatch
# watch`, and ends with the `budgetwatch status` table. Takes well under a minute.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/build.sh" >/dev/null
bin="$top/build"
work=$(mktemp -d /tmp/budgetwatch-demo.XXXXXX)
daemon_pid=""; watch_pid=""
cleanup() {
    [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
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
