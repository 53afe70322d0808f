#!/usr/bin/env bash
# Generate the direct-callback voice prompts with espeak-ng + sox.
#
# Output: 8 kHz, mono, 16-bit signed PCM WAV. That is exactly what Asterisk's
# format_wav calls "wav" (signed linear, slin), so Asterisk plays the files
# without transcoding quality loss and we do not need one file per codec.
# The plugin refers to them as media "sound:callback/<name>"; with the default
# channel language "en" Asterisk finds them in
# /var/lib/asterisk/sounds/en/callback/<name>.wav.
#
# Usage:
#   scripts/generate-prompts.sh [queue-name ...]
#     queue-name  one spoken queue name per queue the plugin serves; each becomes
#                 queue-<name>.wav (the agent whisper says "Callback request for
#                 queue <name>"). Default: support sales.
#                 Allowed characters: a-z 0-9 and '-' (a '-' is spoken as a space).
#
# Environment (all optional):
#   OUT_DIR  target directory  (default: <repo>/asterisk-config/sounds/en/callback)
#   VOICE    espeak-ng voice   (default: en-us)
#   SPEED    words per minute  (default: 165; slower is clearer on a phone but
#                                makes the files bigger, 16 KB per second)
#   PITCH    espeak-ng pitch 0-99 (default: 45)
#
# Requirements (Debian 12): apt-get install -y espeak-ng sox
#
# The output is deterministic for a given espeak-ng/sox version (no dither, no
# comment chunk), so re-running it on an unchanged script gives no git diff.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

OUT_DIR=${OUT_DIR:-$repo_root/asterisk-config/sounds/en/callback}
VOICE=${VOICE:-en-us}
SPEED=${SPEED:-165}
PITCH=${PITCH:-45}

for tool in espeak-ng sox; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool not found. Install it with: apt-get install -y espeak-ng sox" >&2
    exit 1
  fi
done

if [ "$#" -gt 0 ]; then
  queues=("$@")
else
  queues=(support sales)
fi
for q in "${queues[@]}"; do
  # The name becomes part of a file name and of a media URI (sound:callback/queue-<q>);
  # keep it to characters that are safe in both.
  if ! [[ "$q" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]]; then
    echo "error: queue name '$q' must match [a-z0-9-] (lower case, no leading/trailing '-')" >&2
    exit 2
  fi
done

# name|text. Names are the contract with the plugin code (sound:callback/<name>);
# do not rename without changing the plugin.
prompts=(
  "offer|If you prefer, we can call you back when an agent is free, without losing your place in the queue. To be called back, press 1."
  "confirm|Thank you. Your callback is booked. We will call you back at"
  "confirm-goodbye|Your place in the queue is kept. Goodbye."
  "store-failed|Sorry, we could not book your callback right now. Please stay on the line, your place in the queue is kept."
  "whisper-intro|Callback request for queue"
  "whisper-customer|Customer number"
  "whisper-requested|Requested"
  "whisper-minutes-ago|minutes ago."
  "whisper-options|Press 1 to call the customer now, or 2 to skip."
  "connecting|Calling the customer now."
  "customer-busy|The customer line is busy. The callback will be retried."
  "customer-no-answer|The customer did not answer. The callback will be retried."
  "customer-failed|The call to the customer could not be completed."
  "agent-unavailable|The person you are calling is not available right now. Please call again later. Goodbye."
  "already-booked|A callback is already booked for this number. Your place is kept. Goodbye."
  "no-personal-number|This number is not assigned. Goodbye."
  "direct-offer|The agent is not available. To be called back by the same agent as soon as possible, press 1."
  "offer-other-number|To be called back at a different number, press 2."
  "enter-number|Please enter the number we should call you back on, followed by the hash key."
  "you-entered|You entered"
  "confirm-number|To confirm this number, press 1. To enter it again, press 2."
  "invalid-number|Sorry, that number is not valid."
  "number-refused|Sorry, we cannot call you back at that number."
  "entry-given-up|We could not take a callback number. You keep your place in the queue."
  "guard|Hello, this is your requested callback. To be connected to an agent, press 1."
)
for q in "${queues[@]}"; do
  prompts+=("queue-$q|${q//-/ }")
done

mkdir -p "$OUT_DIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

total=0
for entry in "${prompts[@]}"; do
  name=${entry%%|*}
  text=${entry#*|}
  raw="$tmp/$name.raw.wav"
  out="$tmp/$name.wav"

  espeak-ng -v "$VOICE" -s "$SPEED" -p "$PITCH" -w "$raw" -- "$text"

  # sox chain, and why:
  #   -D                    no dither: keeps the output byte-for-byte reproducible
  #   --comment ''          no LIST/INFO chunk, just fmt + data (smallest, plainest header)
  #   silence ... reverse   trim leading and trailing silence; the plugin chains
  #                         prompts with digits:/number: and long gaps sound broken
  #   highpass 200          phones do not carry low bass; removing it avoids
  #                         wasting level on it before normalising
  #   rate -v 8000          high-quality resample to telephony rate (before norm, so
  #                         the level is measured on what Asterisk will play)
  #   norm -3               consistent loudness across prompts, 3 dB headroom
  #   pad 0.05 0.15         a short breath before and a pause after the prompt
  sox -D "$raw" --comment '' -r 8000 -c 1 -b 16 -e signed-integer "$out" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
    highpass 200 rate -v 8000 norm -3 pad 0.05 0.15

  mv "$out" "$OUT_DIR/$name.wav"
  size=$(stat -c %s "$OUT_DIR/$name.wav")
  total=$((total + size))
  printf '%-22s %6d bytes  %s\n' "$name.wav" "$size" "$text"
done

printf 'wrote %d prompts to %s, %d KB total\n' "${#prompts[@]}" "$OUT_DIR" $((total / 1024))
