#!/bin/sh
# Start script for the asterisk service in docker-compose.yml.
#
# 1. Copy the sample configs (mounted read-only at /etc/asterisk-callback) into /etc/asterisk,
#    on top of whatever the image ships (configs we do not provide keep the image's defaults).
# 2. Put the real secrets in place of the committed "CHANGE_ME" placeholders: ARI and AMI from
#    their secret files, the phones' SIP passwords from sip_passwords ("<auth name>=<secret>"
#    per line, e.g. 1001=... for "password = CHANGE_ME_1001").
# 3. Refuse to start while any placeholder is left: the placeholders are public, and a phone
#    registered with one can place calls through the trunk at the owner's expense.
# 4. Run Asterisk in the foreground as the unprivileged "asterisk" user.
#
# "asterisk-start.sh --render-only" stops after step 3 (exit 0 when the configuration would
# start). ASTERISK_CONFIG_SRC, ASTERISK_CONFIG_DST and SECRETS_DIR move the three folders, for a
# dry run outside the container (test/unit/foundation/asterisk-start.test.ts runs it so).
set -eu

SRC=${ASTERISK_CONFIG_SRC:-/etc/asterisk-callback}
DST=${ASTERISK_CONFIG_DST:-/etc/asterisk}
SECRETS=${SECRETS_DIR:-/run/secrets}

read_secret() {
  # $1 = secret name; fail loudly rather than start with a placeholder password.
  f="$SECRETS/$1"
  if [ ! -s "$f" ]; then
    echo "asterisk-start: secret $f is missing or empty (see docker/README.md)" >&2
    exit 1
  fi
  # First line only, trailing CR/LF stripped (files written by editors often end in a newline).
  head -n 1 "$f" | tr -d '\r\n'
}

ARI_SECRET=$(read_secret ari_password)
AMI_SECRET=$(read_secret ami_password)
export ARI_SECRET AMI_SECRET

cp "$SRC"/*.conf "$DST"/

# awk with ENVIRON: the secret is never interpreted by sed/awk, whatever characters it has.
# Only the exact placeholder lines are replaced.
awk '{ if ($0 == "password = CHANGE_ME") print "password = " ENVIRON["ARI_SECRET"]; else print }' \
  "$SRC/ari.conf" > "$DST/ari.conf"
awk '{ if ($0 == "secret = CHANGE_ME") print "secret = " ENVIRON["AMI_SECRET"]; else print }' \
  "$SRC/manager.conf" > "$DST/manager.conf"

# The phones' passwords: each exact "password = CHANGE_ME_<name>" line whose <name> has a line
# "<name>=<secret>" in the sip_passwords secret. A secret too short, or with a character that
# pjsip.conf would cut it at (";" starts a comment; blanks), stops the start; the message names
# the phone, never the secret. A pjsip.conf whose passwords were set by hand needs no such file.
SIP_PASSWORDS="$SECRETS/sip_passwords"
[ -f "$SIP_PASSWORDS" ] || SIP_PASSWORDS=/dev/null
awk -v secrets="$SIP_PASSWORDS" '
  BEGIN {
    bad = 0
    while ((getline line < secrets) > 0) {
      sub(/\r$/, "", line)
      if (line ~ /^[ \t]*(#.*)?$/) continue
      eq = index(line, "=")
      name = substr(line, 1, eq - 1)
      gsub(/[ \t]/, "", name)
      value = substr(line, eq + 1)
      if (eq == 0 || name == "") {
        print "asterisk-start: sip_passwords: a line is not <auth name>=<secret>" > "/dev/stderr"
        bad = 1
      } else if (length(value) < 16 || value ~ /[; \t]/ || value ~ /CHANGE_ME/) {
        print "asterisk-start: sip_passwords: the secret for " name " must be at least 16 characters, without \";\" or blanks (openssl rand -hex 16)" > "/dev/stderr"
        bad = 1
      } else {
        password[name] = value
      }
    }
    if (bad) exit 2
  }
  /^password = CHANGE_ME_[^ \t;]+$/ {
    name = substr($0, length("password = CHANGE_ME_") + 1)
    if (name in password) {
      print "password = " password[name]
      next
    }
  }
  { print }
' "$SRC/pjsip.conf" > "$DST/pjsip.conf" || {
  echo "asterisk-start: not started: fix $SECRETS/sip_passwords (see docker/README.md)" >&2
  exit 1
}

# Secrets are readable by Asterisk only.
chown asterisk:asterisk "$DST"/*.conf 2>/dev/null || true
chmod 640 "$DST/ari.conf" "$DST/manager.conf" "$DST/pjsip.conf"

# Fail closed: no placeholder may be left on an uncommented line of any file copied from the
# sample (a phone with its public password would let anyone call out through the trunk).
left=""
for f in "$SRC"/*.conf; do
  name=$(basename "$f")
  for placeholder in $(grep -v '^[[:space:]]*;' "$DST/$name" | grep -o 'CHANGE_ME[A-Za-z0-9_.-]*' || true); do
    left="$left $name:$placeholder"
  done
done
if [ -n "$left" ]; then
  echo "asterisk-start: not started: placeholder passwords left:$left" >&2
  echo "asterisk-start: add \"<name>=<secret>\" lines to secrets/sip_passwords.txt for each CHANGE_ME_<name>" >&2
  echo "asterisk-start: in pjsip.conf (e.g. 1001=\$(openssl rand -hex 16)), or set the passwords in your copy of asterisk-config/." >&2
  exit 1
fi

if [ "${1:-}" = "--render-only" ]; then
  echo "asterisk-start: configuration rendered in $DST, no placeholder left" >&2
  exit 0
fi

# The plugin's prompts, one folder per language (asterisk-config/sounds/<lang>/callback, in the
# read-only mount), linked where Asterisk looks for sound:callback/<name> played with lang=<lang>.
# A glob, so a language folder added to asterisk-config/sounds needs no change here.
for dir in "$SRC"/sounds/*/callback; do
  [ -d "$dir" ] || continue
  lang=$(basename "$(dirname "$dir")")
  mkdir -p "/var/lib/asterisk/sounds/$lang"
  ln -sfn "$dir" "/var/lib/asterisk/sounds/$lang/callback"
done

# Fresh named volumes are created owned by root; Asterisk writes logs and spool files there.
# (/var/lib/asterisk itself only non-recursively: the image's sounds under it stay as they are.)
for d in /var/log/asterisk /var/spool/asterisk /var/run/asterisk; do
  if [ -d "$d" ]; then chown -R asterisk:asterisk "$d" 2>/dev/null || true; fi
done
chown asterisk:asterisk /var/lib/asterisk 2>/dev/null || true

# -f foreground (Docker supervises it), -U/-G drop root, -vvv useful console log in
# "docker compose logs asterisk".
exec asterisk -f -U asterisk -G asterisk -vvv
