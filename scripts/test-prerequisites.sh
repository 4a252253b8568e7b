#!/usr/bin/env bash
# Debian packages the tests talk to as real peers, installed when missing (run by `npm test`
# through pretest, and by .ci/run): Dovecot is the IMAP server of the Sent-mail lookup tests
# (test/peers/imap-peer.ts); Postfix is the MTA whose private instances return real DSNs
# (test/peers/postfix-peer.ts; the system's own Postfix service is never configured nor started);
# openssl makes the TLS tests' certificates; dnsmasq and rbldnsd serve the DNS checks' zones
# (test/helpers/dns-peer.ts: private instances, never the system services); promtool and amtool
# (Debian prometheus, prometheus-alertmanager) check the metrics, rules and Alertmanager example.
# Chromium (Debian's) is the browser the console tests drive through playwright-core.
# Needs root and apt-get to install; otherwise says what to install.
set -uo pipefail
missing=()
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
dpkg -s dovecot-imapd >/dev/null 2>&1 || missing+=(dovecot-imapd)
dpkg -s postfix >/dev/null 2>&1 || missing+=(postfix)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
[ -x /usr/sbin/rbldnsd ] || missing+=(rbldnsd)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test prerequisites missing: ${missing[*]} (Debian packages; install them with apt-get as root)" >&2
  exit 1
fi
echo "installing test prerequisites: ${missing[*]}"
# The tests run their own Postfix instances: the system's stays unconfigured and stopped.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# invoke-rc.d asks policy-rc.d before starting a service: 101 means "do not".
own_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
fi
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
installed=$?
[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
if [ $installed -ne 0 ]; then
  echo "could not install ${missing[*]}" >&2
  exit 1
fi
if [[ " ${missing[*]} " == *" postfix "* ]] && postfix status >/dev/null 2>&1; then
  postfix stop >/dev/null 2>&1
fi
exit 0
