#!/usr/bin/env bash
# Start, stop and check the real services the portal uses, on 127.0.0.1 only.
#   scripts/services.sh start|stop|status [clamd|smtp|postgres|signing|mailer ...]
# Idempotent: a running service (PID file + readiness probe) is left alone.
# Installs nothing: `make deps` does that.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${PORTAL_VAR_DIR:-$ROOT/var}"
RUN="$VAR/run"
LOG="$VAR/log"
PY="$ROOT/.venv/bin/python"

CLAMD_PORT="${PORTAL_CLAMD_PORT:-3310}"
SMTP_PORT="${PORTAL_SMTP_PORT:-8025}"
PG_PORT="${PORTAL_PG_PORT:-54329}"
SIGNING_PORT="${PORTAL_SIGNING_PORT:-8100}"
MAILDIR="${PORTAL_DEV_MAILDIR:-$VAR/maildir}"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"

mkdir -p "$RUN" "$LOG"

say() { printf '%s\n' "$*" >&2; }

pid_alive() {
  local pidfile="$RUN/$1.pid"
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      say "FAILED: $name did not become ready in ${seconds}s (see $LOG/$name.log)"
      tail -n 20 "$LOG/$name.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
}

probe_tcp() {  # probe_tcp PORT PAYLOAD EXPECT
  "$PY" - "$@" 2>/dev/null <<'EOF'
import socket, sys
port, payload, expect = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode()
with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
    if payload:
        s.sendall(payload.replace(b"\\0", b"\0"))
    data = s.recv(64)
sys.exit(0 if expect in data else 1)
EOF
}

# --- ClamAV daemon, with the project's own signature file -------------------
start_clamd() {
  if probe_tcp "$CLAMD_PORT" 'zPING\0' PONG; then say "clamd: running on 127.0.0.1:$CLAMD_PORT"; return; fi
  local db="$VAR/clamav-db"
  mkdir -p "$db"
  cp "$ROOT/scripts/clamav/"*.ndb "$db/"
  cat >"$VAR/clamd.conf" <<EOF
Foreground yes
DatabaseDirectory $db
TCPSocket $CLAMD_PORT
TCPAddr 127.0.0.1
LogFile $LOG/clamd.log
LogTime yes
StreamMaxLength ${PORTAL_CLAMD_STREAM_MAX:-26M}
MaxThreads 4
User root
EOF
  setsid clamd --config-file="$VAR/clamd.conf" >>"$LOG/clamd.log" 2>&1 &
  echo $! >"$RUN/clamd.pid"
  wait_for clamd 60 probe_tcp "$CLAMD_PORT" 'zPING\0' PONG
  say "clamd: started on 127.0.0.1:$CLAMD_PORT"
}

# --- SMTP sink writing a Maildir ---------------------------------------------
start_smtp() {
  if probe_tcp "$SMTP_PORT" '' 220; then say "smtp sink: running on 127.0.0.1:$SMTP_PORT"; return; fi
  mkdir -p "$MAILDIR"/{tmp,new,cur}
  setsid "$PY" -m aiosmtpd -n -u -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$MAILDIR" \
    >>"$LOG/smtp.log" 2>&1 &
  echo $! >"$RUN/smtp.pid"
  wait_for smtp 20 probe_tcp "$SMTP_PORT" '' 220
  say "smtp sink: started on 127.0.0.1:$SMTP_PORT (Maildir $MAILDIR)"
}

# --- Throwaway PostgreSQL cluster (tests and the production-profile check) ---
start_postgres() {
  local data="$VAR/pg/data" sock="$VAR/pg/sock"
  if [[ -z "$PG_BIN" ]]; then say "FAILED: PostgreSQL binaries not found (run make deps)"; return 1; fi
  if [[ -f "$data/postmaster.pid" ]] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "postgres: running on 127.0.0.1:$PG_PORT"; return
  fi
  mkdir -p "$VAR/pg" "$sock"
  chown postgres:postgres "$VAR/pg" "$sock"
  chmod 755 "$VAR" "$VAR/pg"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    runuser -u postgres -- "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$LOG/postgres-initdb.log" 2>&1
  fi
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -l "$VAR/pg/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
  say "postgres: started on 127.0.0.1:$PG_PORT"
}

# --- The signing service's PKCS#11 token: SoftHSM2 under var/softhsm ---------
# make run / make test keep the service's keys in a SoftHSM2 token (issue #16).
# Label and user PIN: RS_PKCS11_TOKEN_LABEL / RS_PKCS11_USER_PIN, else the
# service's defaults (remote_signing/service/config.py); the SO PIN only
# initialises the token. Production sets RS_PKCS11_MODULE to its HSM's library
# and initialises that token with the HSM's own tools: nothing is done here then.
export RS_KEYSTORE_BACKEND="${RS_KEYSTORE_BACKEND:-pkcs11}"
export SOFTHSM2_CONF="${SOFTHSM2_CONF:-$VAR/softhsm/softhsm2.conf}"

rs_defaults() {  # the signing service's token defaults, one a line (config.py loads alone: stdlib + flask)
  "$PY" - "$ROOT/remote_signing/service/config.py" <<'EOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("rs_config", sys.argv[1])
c = importlib.util.module_from_spec(spec); spec.loader.exec_module(c)
print(c.DEFAULTS["PKCS11_MODULE"], c.DEFAULTS["PKCS11_TOKEN_LABEL"], c.DEFAULTS["PKCS11_USER_PIN"], c.DEV_TOKEN_SO_PIN, sep="\n")
EOF
}

init_token() {
  [[ "$RS_KEYSTORE_BACKEND" == pkcs11 ]] || return 0
  local d_module d_label d_pin d_so_pin
  { read -r d_module; read -r d_label; read -r d_pin; read -r d_so_pin; } < <(rs_defaults)
  local module="${RS_PKCS11_MODULE:-$d_module}"
  [[ "$module" == *softhsm* ]] || return 0
  local label="${RS_PKCS11_TOKEN_LABEL:-$d_label}"
  local pin="${RS_PKCS11_USER_PIN:-$d_pin}"
  local so_pin="${RS_PKCS11_SO_PIN:-$d_so_pin}"
  local dir; dir="$(dirname "$SOFTHSM2_CONF")"
  mkdir -p "$dir/tokens"
  chmod 700 "$dir"
  if [[ ! -f "$SOFTHSM2_CONF" ]]; then
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir/tokens" >"$SOFTHSM2_CONF"
  fi
  if softhsm2-util --show-slots 2>/dev/null | grep -Eq "^ *Label: +$label *\$"; then
    say "softhsm2: token '$label' ready ($SOFTHSM2_CONF)"
    return
  fi
  softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$so_pin" >/dev/null
  say "softhsm2: token '$label' initialised ($SOFTHSM2_CONF)"
}

# --- Embedded signing service (remote_signing.service) -----------------------
start_signing() {
  if probe_http "http://127.0.0.1:$SIGNING_PORT/health"; then say "signing service: running on 127.0.0.1:$SIGNING_PORT"; return; fi
  # Its own database and key store under var/rs (never the portal's database).
  mkdir -p "$VAR/rs"
  init_token
  # `cd` first and background only the service itself, so the PID file names
  # the service's own process (its process group is stopped as a whole).
  (cd "$ROOT"
   RS_DATABASE_URL="${RS_DATABASE_URL:-sqlite:///$VAR/rs/signing.db}" \
     RS_MASTER_KEY_FILE="${RS_MASTER_KEY_FILE:-$VAR/rs/master.key}" \
     RS_PUBLIC_URL="http://127.0.0.1:$SIGNING_PORT" RS_SMTP_PORT="$SMTP_PORT" \
     setsid "$PY" -m remote_signing.service --host 127.0.0.1 --port "$SIGNING_PORT" >>"$LOG/signing.log" 2>&1 &
   echo $! >"$RUN/signing.pid")
  # The first start generates the CA keys (3072-bit, in the token): allow for a busy machine.
  wait_for signing 120 probe_http "http://127.0.0.1:$SIGNING_PORT/health"
  say "signing service: started on 127.0.0.1:$SIGNING_PORT"
}

# --- Mail delivery loop (the outbox, MAIL-2) -----------------------------------
start_mailer() {
  if pid_alive mailer; then say "mail delivery: running"; return; fi
  (cd "$ROOT"
   setsid "$ROOT/.venv/bin/flask" --app wsgi mail deliver --loop --interval 2 >>"$LOG/mailer.log" 2>&1 &
   echo $! >"$RUN/mailer.pid")
  say "mail delivery: started (log $LOG/mailer.log)"
}

probe_http() {
  "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null
}

stop_pidfile() {
  local name="$1" pidfile="$RUN/$1.pid"
  if [[ -f "$pidfile" ]]; then
    local pid; pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      # Each service runs in its own session (setsid): stop the whole group,
      # so worker processes never outlive their master and keep the port.
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    say "$name: stopped"
  fi
}

stop_postgres() {
  local data="$VAR/pg/data"
  if [[ -f "$data/postmaster.pid" ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    say "postgres: stopped"
  fi
}

status_of() {
  case "$1" in
    clamd) probe_tcp "$CLAMD_PORT" 'zPING\0' PONG ;;
    smtp) probe_tcp "$SMTP_PORT" '' 220 ;;
    postgres) runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$VAR/pg/data" status ;;
    signing) probe_http "http://127.0.0.1:$SIGNING_PORT/health" ;;
    mailer) pid_alive mailer ;;
  esac
}

action="${1:-status}"; shift || true
services=("$@")
if ((${#services[@]} == 0)); then services=(clamd smtp postgres signing mailer); fi

for svc in "${services[@]}"; do
  case "$action" in
    start) "start_$svc" ;;
    stop) if [[ "$svc" == postgres ]]; then stop_postgres; else stop_pidfile "$svc"; fi ;;
    status) if status_of "$svc" >/dev/null 2>&1; then echo "$svc: up"; else echo "$svc: down"; fi ;;
    *) say "usage: $0 start|stop|status [clamd|smtp|postgres|signing ...]"; exit 2 ;;
  esac
done
