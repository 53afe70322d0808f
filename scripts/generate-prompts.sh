#!/usr/bin/env bash
# Generate the direct-callback voice prompts with espeak-ng + sox, one folder per language.
#
# Output: 8 kHz, mono, 16-bit signed PCM WAV. That is exactly what Asterisk's
# format_wav calls "wav" (signed linear, slin), so Asterisk plays the files
# without transcoding quality loss and we do not need one file per codec.
# The plugin refers to them as media "sound:callback/<name>" and passes the
# call's language with every playback (ARI play "lang"), so Asterisk finds them in
# /var/lib/asterisk/sounds/<lang>/callback/<name>.wav.
#
# Usage:
#   scripts/generate-prompts.sh [--lang CODE] [queue[=spoken name] ...]
#     --lang CODE  the language to generate (also LANG_CODE=CODE); default: en.
#                  One text table per language below; the languages with a table:
#                  en (English), es (Spanish).
#     queue        one queue id per queue the plugin serves; each becomes
#                  queue-<id>.wav (the agent whisper says "Callback request for
#                  queue <name>"). "support=soporte" speaks another name than the id.
#                  Default: the language's own list (en: support sales;
#                  es: support=soporte sales=ventas).
#                  Ids: a-z 0-9 and '-' (a '-' in a spoken id is spoken as a space).
#   scripts/generate-prompts.sh --table
#     prints the Markdown table of every prompt's text in every language (the one in
#     asterisk-config/sounds/README.md; a test checks that they are the same).
#   scripts/generate-prompts.sh --languages
#     prints the language codes that have a table, one per line.
#
# Environment (all optional):
#   LANG_CODE  language, as --lang (default: en)
#   OUT_DIR    target directory  (default: <repo>/asterisk-config/sounds/<lang>/callback)
#   VOICE      espeak-ng voice   (default: the language's, en-us or es-419)
#   SPEED      words per minute  (default: 165; slower is clearer on a phone but
#                                  makes the files bigger, 16 KB per second)
#   PITCH      espeak-ng pitch 0-99 (default: 45)
#
# Requirements (Debian 12): apt-get install -y espeak-ng sox
#
# The output is deterministic for a given espeak-ng/sox version (no dither, no
# comment chunk), so re-running it on an unchanged script gives no git diff.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

# ---- the texts ------------------------------------------------------------------
# name|text. Names are the contract with the plugin code (sound:callback/<name>);
# do not rename without changing the plugin. Every language has every name, in the
# same order.
LANGUAGES=(en es)
declare -A LANGUAGE_NAME=([en]=English [es]=Spanish)
# espeak-ng's Latin American Spanish matches Debian's Spanish core sounds (es is
# Allison's Mexican Spanish), which read the digits and numbers after our prompts.
declare -A DEFAULT_VOICE=([en]=en-us [es]=es-419)
queues_en=(support sales)
queues_es=(support=soporte sales=ventas)

prompts_en=(
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
  "rate-limited|Sorry, we cannot take more callback requests from you right now. Please stay on the line, your place in the queue is kept."
  "entry-given-up|We could not take a callback number. You keep your place in the queue."
  "guard|Hello, this is your requested callback. To be connected to an agent, press 1."
  "announce-position|You are number"
  "announce-in-line|in line."
  "announce-wait|Your estimated waiting time is about"
  "announce-minutes|minutes."
  "announce-minute|minute."
  "announce-wait-short|Your estimated waiting time is less than a minute."
  "announce-wait-hour|Your estimated waiting time is about an hour."
  "announce-wait-long|Your estimated waiting time is more than an hour."
  "closed|We are sorry, we cannot take your call now. Please call again later. Goodbye."
  "agent-logged-in|You are logged in. Calls will now be offered to you."
  "agent-logged-out|You are logged out. No more calls will be offered to you."
  "agent-paused|You are paused. No calls will be offered to you until you resume."
  "agent-unpaused|Your pause is over. Calls will be offered to you again."
  "feature-code-failed|Sorry, this could not be done. Please try again later."
)

# Neutral Latin American Spanish, formal "usted", as a contact center speaks to callers.
prompts_es=(
  "offer|Si lo prefiere, podemos devolverle la llamada cuando haya un agente disponible, sin que pierda su turno. Para recibir nuestra llamada, marque 1."
  "confirm|Gracias. Su solicitud de llamada quedó registrada. Le llamaremos al número"
  "confirm-goodbye|Su turno se mantiene. Hasta luego."
  "store-failed|Lo sentimos, en este momento no pudimos registrar su solicitud de llamada. Por favor, permanezca en la línea; su turno se mantiene."
  "whisper-intro|Solicitud de devolución de llamada de la cola"
  "whisper-customer|Número del cliente"
  "whisper-requested|Solicitada hace"
  "whisper-minutes-ago|minutos."
  "whisper-options|Marque 1 para llamar al cliente ahora, o 2 para omitir esta llamada."
  "connecting|Llamando al cliente."
  "customer-busy|La línea del cliente está ocupada. Se volverá a intentar más tarde."
  "customer-no-answer|El cliente no contestó. Se volverá a intentar más tarde."
  "customer-failed|No se pudo completar la llamada al cliente."
  "agent-unavailable|La persona a la que llama no está disponible en este momento. Por favor, vuelva a llamar más tarde. Hasta luego."
  "already-booked|Ya tenemos una solicitud de llamada para este número. Su turno se mantiene. Hasta luego."
  "no-personal-number|Este número no está asignado. Hasta luego."
  "direct-offer|El agente no está disponible. Para que el mismo agente le devuelva la llamada lo antes posible, marque 1."
  "offer-other-number|Para recibir la llamada en otro número, marque 2."
  "enter-number|Por favor, marque el número al que debemos llamarle, seguido de la tecla numeral."
  "you-entered|Usted marcó"
  "confirm-number|Para confirmar este número, marque 1. Para marcarlo de nuevo, marque 2."
  "invalid-number|Lo sentimos, ese número no es válido."
  "number-refused|Lo sentimos, no podemos llamarle a ese número."
  "rate-limited|Lo sentimos, por ahora no podemos registrar más solicitudes de llamada suyas. Por favor, permanezca en la línea; su turno se mantiene."
  "entry-given-up|No pudimos tomar un número para devolverle la llamada. Su turno se mantiene."
  "guard|Hola, le llamamos porque solicitó que le devolviéramos la llamada. Para hablar con un agente, marque 1."
  "announce-position|Usted es el número"
  "announce-in-line|en la fila."
  "announce-wait|El tiempo de espera estimado es de unos"
  "announce-minutes|minutos."
  "announce-minute|minuto."
  "announce-wait-short|El tiempo de espera estimado es de menos de un minuto."
  "announce-wait-hour|El tiempo de espera estimado es de aproximadamente una hora."
  "announce-wait-long|El tiempo de espera estimado es de más de una hora."
  "closed|Lo sentimos, no podemos atender su llamada en este momento. Por favor, vuelva a llamar más tarde. Hasta luego."
  "agent-logged-in|Ha iniciado sesión. A partir de ahora recibirá llamadas."
  "agent-logged-out|Ha cerrado sesión. Ya no recibirá llamadas."
  "agent-paused|Está en pausa. No recibirá llamadas hasta que la termine."
  "agent-unpaused|Su pausa terminó. Volverá a recibir llamadas."
  "feature-code-failed|Lo sentimos, no se pudo realizar. Por favor, inténtelo más tarde."
)

# What the plugin plays right after a prompt, for whoever records them with a voice.
declare -A FOLLOWED_BY=(
  [confirm]='the number, digit by digit (`digits:`), then `confirm-goodbye`'
  [whisper-intro]='`queue-<id>`'
  [whisper-customer]='the number, digit by digit (`digits:`)'
  [whisper-requested]='the minutes as a number (`number:`), then `whisper-minutes-ago`'
  [you-entered]='the number, digit by digit (`digits:`), then `confirm-number`'
  [offer]='`offer-other-number` where callers may give another number'
  [announce-position]='the position (`number:`), then `announce-in-line`'
  [announce-wait]='the minutes (`number:`), then `announce-minutes` or `announce-minute`'
  [closed]='the overflow action `message:callback/closed`, then the call ends'
)

table_of() {
  local -n _table="prompts_$1"
  printf '%s\n' "${_table[@]}"
}

queues_of() {
  local -n _queues="queues_$1"
  printf '%s\n' "${_queues[@]}"
}

text_of() { # language name -> the prompt's text in that language
  local -n _entries="prompts_$1"
  local entry
  for entry in "${_entries[@]}"; do
    if [ "${entry%%|*}" = "$2" ]; then printf '%s' "${entry#*|}"; return; fi
  done
}

spoken_queue() { # queue[=spoken] -> spoken name
  local q=$1
  if [[ "$q" == *=* ]]; then printf '%s' "${q#*=}"; else printf '%s' "${q//-/ }"; fi
}

spoken_queue_of() { # language queue-id -> that language's spoken name of the queue
  local -n _ids="queues_$1"
  local q
  for q in "${_ids[@]}"; do
    if [ "${q%%=*}" = "$2" ]; then spoken_queue "$q"; return; fi
  done
}

# The tables must agree on the names: a prompt missing in one language would be silence.
check_tables() {
  local reference l
  reference=$(table_of en | cut -d'|' -f1)
  for l in "${LANGUAGES[@]}"; do
    if [ "$(table_of "$l" | cut -d'|' -f1)" != "$reference" ] || [ "$(queues_of "$l" | cut -d= -f1)" != "$(queues_of en)" ]; then
      echo "error: prompts_$l/queues_$l do not name the same prompts and queues, in the same order, as prompts_en/queues_en" >&2
      exit 3
    fi
  done
}

print_table() {
  local header='| name (`sound:callback/<name>`) |' rule='|---|' l name row q
  for l in "${LANGUAGES[@]}"; do header+=" ${LANGUAGE_NAME[$l]} |"; rule+='---|'; done
  printf '%s followed by |\n%s---|\n' "$header" "$rule"
  local names
  mapfile -t names < <(table_of en | cut -d'|' -f1)
  for name in "${names[@]}"; do
    row="| \`$name\` |"
    for l in "${LANGUAGES[@]}"; do row+=" $(text_of "$l" "$name") |"; done
    printf '%s%s |\n' "$row" "${FOLLOWED_BY[$name]:+ ${FOLLOWED_BY[$name]}}"
  done
  local ids
  mapfile -t ids < <(queues_of en)
  for q in "${ids[@]}"; do
    row="| \`queue-$q\` |"
    for l in "${LANGUAGES[@]}"; do row+=" $(spoken_queue_of "$l" "$q") |"; done
    printf '%s the queue after `whisper-intro`: one file per queue id (queue config `announcement`) |\n' "$row"
  done
}

check_tables
case "${1:-}" in
  --table)
    print_table
    exit 0
    ;;
  --languages)
    printf '%s\n' "${LANGUAGES[@]}"
    exit 0
    ;;
esac

LANG_CODE=${LANG_CODE:-en}
if [ "${1:-}" = "--lang" ]; then
  LANG_CODE=${2:?--lang needs a language code, e.g. --lang es}
  shift 2
fi
if [ -z "${LANGUAGE_NAME[$LANG_CODE]:-}" ]; then
  echo "error: no text table for language '$LANG_CODE' (have: ${LANGUAGES[*]}); add prompts_$LANG_CODE and queues_$LANG_CODE" >&2
  exit 2
fi

OUT_DIR=${OUT_DIR:-$repo_root/asterisk-config/sounds/$LANG_CODE/callback}
VOICE=${VOICE:-${DEFAULT_VOICE[$LANG_CODE]}}
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
  mapfile -t queues < <(queues_of "$LANG_CODE")
fi
for q in "${queues[@]}"; do
  # The id becomes part of a file name and of a media URI (sound:callback/queue-<id>);
  # keep it to characters that are safe in both.
  if ! [[ "${q%%=*}" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]]; then
    echo "error: queue id '${q%%=*}' must match [a-z0-9-] (lower case, no leading/trailing '-')" >&2
    exit 2
  fi
done

mapfile -t prompts < <(table_of "$LANG_CODE")
for q in "${queues[@]}"; do
  prompts+=("queue-${q%%=*}|$(spoken_queue "$q")")
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

printf 'wrote %d %s prompts (voice %s) to %s, %d KB total\n' "${#prompts[@]}" "$LANG_CODE" "$VOICE" "$OUT_DIR" $((total / 1024))
