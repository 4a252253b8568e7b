#!/usr/bin/env bash
# Debian packages the tests talk to as real peers, installed when missing (run by `npm test`
# through pretest, and by .ci/run): Dovecot is the IMAP server of the Sent-mail lookup tests
# (test/peers/imap-peer.ts); openssl makes the TLS tests' certificates. Needs root and apt-get
# to install; otherwise says what to install.
set -uo pipefail
missing=()
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
dpkg -s dovecot-imapd >/dev/null 2>&1 || missing+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test prerequisites missing: ${missing[*]} (Debian packages; install them with apt-get as root)" >&2
  exit 1
fi
echo "installing test prerequisites: ${missing[*]}"
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } || {
  echo "could not install ${missing[*]}" >&2
  exit 1
}
# The tests use only promtool and amtool: on a systemd host, do not leave running the daemons
# that installing prometheus / prometheus-alertmanager starts.
for daemon in prometheus prometheus-alertmanager; do
  if [[ " ${missing[*]} " == *" $daemon "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now "$daemon" >/dev/null 2>&1 || true
  fi
done
exit 0
