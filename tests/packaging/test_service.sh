#!/bin/sh
# The service as a Debian administrator gets it: `cmake --install` into a
# scratch root has every file in place, the unit passes `systemd-analyze
# verify`, rates 2.0 or lower in `systemd-analyze security`, and the package
# built by CPack unpacks with the same contents.
# usage: test_service.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
work=$(mktemp -d /tmp/bw-pkg.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX=/usr -DBW_TESTS=OFF -DBW_PACKAGE=ON >/dev/null
cmake --build "$work/build" -j2 >/dev/null
DESTDIR="$work/root" cmake --install "$work/build" >/dev/null
for f in usr/sbin/budgetwatchd usr/bin/budgetwatch usr/include/budgetwatch.h \
         usr/lib/systemd/system/budgetwatchd.service usr/lib/sysusers.d/budgetwatch.conf \
         usr/lib/tmpfiles.d/budgetwatch.conf etc/budgetwatch/budgetwatchd.conf \
         usr/share/budgetwatch/zunhua-2022/plan.csv usr/share/man/man8/budgetwatchd.8.gz \
         usr/share/man/man1/budgetwatch.1.gz usr/share/man/man5/budgetwatch.conf.5.gz \
         usr/share/doc/budgetwatch/copyright usr/share/doc/budgetwatch/changelog.gz \
         usr/bin/budgetwatch-metrics usr/lib/systemd/system/budgetwatch-metrics.service \
         usr/share/man/man8/budgetwatch-metrics.8.gz; do
    [ -e "$work/root/$f" ] || fail "not installed: /$f"
done
for f in usr/bin/budgetwatch-notify usr/lib/systemd/system/budgetwatch-notify.service \
         usr/share/man/man8/budgetwatch-notify.8.gz usr/share/man/man5/budgetwatch-notify.conf.5.gz \
         usr/share/doc/budgetwatch/examples/budgetwatch-notify.conf; do
    [ -e "$work/root/$f" ] || fail "not installed: /$f"
done
# It links the installed libbudgetwatch, which is in the scratch root.
LD_LIBRARY_PATH=$(dirname "$(ls "$work"/root/usr/lib/*/libbudgetwatch.so.0)") \
    "$work/root/usr/bin/budgetwatch-notify" --check -c "$work/root/usr/share/doc/budgetwatch/examples/budgetwatch-notify.conf" |
    grep -q ": ok (" || fail "budgetwatch-notify --check on the installed example"
for f in usr/sbin/budgetwatch-web usr/lib/systemd/system/budgetwatch-web.service \
         etc/budgetwatch/budgetwatch-web.conf usr/share/man/man8/budgetwatch-web.8.gz \
         usr/share/budgetwatch/web/console.js usr/share/budgetwatch/web/console.css; do
    [ -e "$work/root/$f" ] || fail "not installed: /$f"
done
ls "$work"/root/usr/lib/*/libbudgetwatch.so.0 >/dev/null || fail "libbudgetwatch.so.0 not installed"
ls "$work"/root/usr/lib/*/pkgconfig/budgetwatch.pc >/dev/null || fail "budgetwatch.pc not installed"

# The installed daemon checks the installed configuration and plan.
printf '[daemon]\nplan = %s\n' "$work/root/usr/share/budgetwatch/zunhua-2022/plan.csv" > "$work/check.conf"
"$work/root/usr/sbin/budgetwatchd" -c "$work/check.conf" --check | grep -q "are valid" ||
    fail "budgetwatchd --check on the installed plan"

# verify resolves Exec paths and man pages: point them into the scratch root.
unit="$work/budgetwatchd.service"
sed -e "s|/usr/sbin/budgetwatchd|$work/root/usr/sbin/budgetwatchd|g" \
    -e "s|/usr/bin/budgetwatch|$work/root/usr/bin/budgetwatch|g" \
    "$work/root/usr/lib/systemd/system/budgetwatchd.service" > "$unit"
MANPATH="$work/root/usr/share/man" systemd-analyze verify "$unit" || fail "systemd-analyze verify"
score=$(systemd-analyze security --offline=true "$unit" 2>/dev/null | sed -n 's/.*exposure level for .*: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no exposure level from systemd-analyze security"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure level $score is over 2.0"
echo "systemd-analyze security: exposure level $score"
munit="$work/budgetwatch-metrics.service"
sed -e "s|/usr/bin/budgetwatch-metrics|$work/root/usr/bin/budgetwatch-metrics|g" \
    "$work/root/usr/lib/systemd/system/budgetwatch-metrics.service" > "$munit"
MANPATH="$work/root/usr/share/man" systemd-analyze verify "$munit" ||
    fail "systemd-analyze verify budgetwatch-metrics.service"

nunit="$work/budgetwatch-notify.service"
sed -e "s|/usr/bin/budgetwatch-notify|$work/root/usr/bin/budgetwatch-notify|g" \
    "$work/root/usr/lib/systemd/system/budgetwatch-notify.service" > "$nunit"
MANPATH="$work/root/usr/share/man" systemd-analyze verify "$nunit" || fail "systemd-analyze verify (notify)"
nscore=$(systemd-analyze security --offline=true "$nunit" 2>/dev/null | sed -n 's/.*exposure level for .*: \([0-9.]*\).*/\1/p')
awk -v s="$nscore" 'BEGIN { exit !(s <= 2.0) }' || fail "budgetwatch-notify: exposure level $nscore is over 2.0"
echo "systemd-analyze security (budgetwatch-notify): exposure level $nscore"
# The console's unit: the same two checks.
wunit="$work/budgetwatch-web.service"
sed -e "s|/usr/sbin/budgetwatch-web|$work/root/usr/sbin/budgetwatch-web|g" \
    "$work/root/usr/lib/systemd/system/budgetwatch-web.service" > "$wunit"
MANPATH="$work/root/usr/share/man" systemd-analyze verify "$wunit" || fail "systemd-analyze verify (web)"
wscore=$(systemd-analyze security --offline=true "$wunit" 2>/dev/null | sed -n 's/.*exposure level for .*: \([0-9.]*\).*/\1/p')
[ -n "$wscore" ] || fail "no exposure level for budgetwatch-web.service"
awk -v s="$wscore" 'BEGIN { exit !(s <= 2.0) }' || fail "budgetwatch-web.service: exposure level $wscore is over 2.0"
echo "systemd-analyze security (budgetwatch-web): exposure level $wscore"

(cd "$work/build" && cpack -G DEB >/dev/null) || fail "cpack -G DEB"
deb=$(ls "$work"/build/budgetwatch_*.deb)
dpkg-deb --info "$deb" | grep -q "Depends:.*libzmq5" || fail "the package does not depend on libzmq5"
dpkg-deb --info "$deb" | grep -q "Depends:.*libjs-chart.js" || fail "the package does not depend on libjs-chart.js"
dpkg -x "$deb" "$work/deb"
[ -e "$work/deb/usr/bin/budgetwatch-notify" ] || fail "not in the package: /usr/bin/budgetwatch-notify"
for f in usr/sbin/budgetwatchd usr/bin/budgetwatch etc/budgetwatch/budgetwatchd.conf \
         usr/lib/systemd/system/budgetwatchd.service usr/bin/budgetwatch-metrics \
         usr/lib/systemd/system/budgetwatch-metrics.service; do
    [ -e "$work/deb/$f" ] || fail "not in the package: /$f"
done
# The manual pages render without warnings.
for m in "$work"/deb/usr/share/man/man*/*.gz; do
    w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$m" 2>&1 >/dev/null)
    [ -z "$w" ] || fail "$(basename "$m"): $w"
done
echo "package $(basename "$deb"): $(dpkg-deb --field "$deb" Depends)"
# Debian's own checks: no errors (warnings are printed, not fatal).
lintian --tag-display-limit 0 "$deb" > "$work/lintian.txt" 2>&1 || true
cat "$work/lintian.txt"
if grep -q '^E: ' "$work/lintian.txt"; then fail "lintian reports errors"; fi
echo "1 passed, 0 failed"
