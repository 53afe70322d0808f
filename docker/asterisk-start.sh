#!/bin/sh
# Start script for the asterisk service in docker-compose.yml.
#
# 1. Copy the sample configs (mounted read-only at /etc/asterisk-callback) into /etc/asterisk,
#    on top of whatever the image ships (configs we do not provide keep the image's defaults).
# 2. Put the real ARI and AMI secrets in place of the committed "CHANGE_ME" placeholders.
# 3. Run Asterisk in the foreground as the unprivileged "asterisk" user.
set -eu

SRC=/etc/asterisk-callback
DST=/etc/asterisk

read_secret() {
  # $1 = secret name; fail loudly rather than start with a placeholder password.
  f="/run/secrets/$1"
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

# Secrets are readable by Asterisk only.
chown asterisk:asterisk "$DST"/*.conf 2>/dev/null || true
chmod 640 "$DST/ari.conf" "$DST/manager.conf"

if grep -q 'CHANGE_ME' "$DST/pjsip.conf"; then
  echo "asterisk-start: WARNING: pjsip.conf still contains CHANGE_ME passwords - phones could be" >&2
  echo "asterisk-start: WARNING: registered by anyone who reads the repository. Edit asterisk-config/pjsip.conf." >&2
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
