#!/usr/bin/env bash
# tpp's benchmark: tpp against nginx doing the same proxying job, on loopback,
# in front of the same fast upstream; plus idle-connection memory and start-up.
# See docs/performance.md.
#
#   bench/run.sh                 full run (3 rounds x 10 s per load, 10,000 idle connections)
#   bench/run.sh --short         CI smoke run (1 round x 2 s, 1,000 idle connections, < 60 s)
#   bench/run.sh --profile       also: perf profile of tpp under the keep-alive load
#   bench/run.sh --allocators    also: tpp's keep-alive load with mimalloc (linked), glibc, jemalloc
#   bench/run.sh --phases LIST   only these phases, comma-separated: load,idle,startup,fetch,tls,waiters,bigbody,failover,profile,alloc
#   options: --rounds N --duration S --idle N --connections N --strict --keep
#
# Environment: TPP_BENCH_BUILD_DIR (default build-release), TPP_BENCH_NO_BUILD=1
# (use the binaries there as they are), TPP_BENCH_OUT=DIR (keep results there),
# TPP_BENCH_OTLP_ENDPOINT=URL (tpp exports spans there; a closed port measures
# the cost of export with the collector down).
#
# Exit status: 0 when every component started and every tool ran cleanly
# (whatever the numbers); non-zero otherwise. --strict also fails (3) when a
# target of docs/requirements.md section 5 is missed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
cores=$(nproc)

rounds=3 duration=10 warmup=2 idle_n=10000 connections=50 threads=2
big_mib=1024 upload_mib=512  # bigbody: the download and the upload
phases="load,idle,startup,fetch,tls,waiters,bigbody,failover"
strict=0 keep=0 short=0
while (($#)); do
  case $1 in
    --short) short=1 rounds=1 duration=2 warmup=1 idle_n=1000 big_mib=64 upload_mib=64 ;;
    --profile) phases+=",profile" ;;
    --allocators) phases+=",alloc" ;;
    --phases) phases=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --duration) duration=$2; shift ;;
    --idle) idle_n=$2; shift ;;
    --connections) connections=$2; shift ;;
    --strict) strict=1 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
has_phase() { [[ ",$phases," == *",$1,"* ]]; }
log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup
tmp=$(mktemp -d /tmp/tpp-bench.XXXXXX)
out=${TPP_BENCH_OUT:-$tmp/out}
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
pids=()

stop_pid() {  # TERM a process we started (and its direct children), KILL after 5 s
  local pid=$1 kids
  kill -0 "$pid" 2>/dev/null || return 0
  kids=$(pgrep -P "$pid" 2>/dev/null || true)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" $kids 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}"; done
  if ((keep)) || [[ -n ${TPP_BENCH_OUT:-} ]]; then
    log "work files kept in $tmp (results in $out)"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- dependencies and build
TPP_WITH_BENCH=1 "$root/scripts/install-deps.sh"
extra=()
has_phase alloc && extra+=(libjemalloc2)
has_phase profile && extra+=(linux-perf)
missing=()
for p in "${extra[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${TPP_BENCH_BUILD_DIR:-$root/build-release}
if [[ ${TPP_BENCH_NO_BUILD:-0} != 1 ]]; then
  log "building tpp (Release) in $build"
  # -g: symbols for perf, same code. -Wno-mismatched-new-delete: GCC 12 at -O3
  # reports a false positive inside Boost.Asio's coroutine frame allocator.
  TPP_BUILD_TYPE=Release TPP_BUILD_DIR=$build "$root/scripts/build.sh" -DTPP_BUILD_TESTS=OFF \
    "-DCMAKE_CXX_FLAGS=-g -Wno-mismatched-new-delete" >"$tmp/build.log" 2>&1 ||
    { tail -30 "$tmp/build.log" >&2; die "build"; }
fi
tpp=$build/src/app/tpp
emulator=$build/tools/emulator/ddb-emulator
[[ -x $tpp && -x $emulator ]] || die "no tpp or ddb-emulator in $build"

# 10,000 client connections need more than the usual 1024 descriptors, in
# tpp, nginx and the client alike.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= idle_n + 512)) || die "ulimit -n is $(ulimit -n), $idle_n idle connections need more"

# ---------------------------------------------------------------- helpers
free_ports() {  # N free loopback ports (bound once to port 0, then released)
  python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}
start_bg() {  # name cmd...: started in the background, logged to $tmp/name.log
  local name=$1; shift
  "$@" >"$tmp/$name.log" 2>&1 &
  pids+=($!)
  last_pid=$!
}
wait_http() {  # url expected_status seconds pid
  local deadline=$((SECONDS + $3)) code
  while ((SECONDS < deadline)); do
    kill -0 "$4" 2>/dev/null || return 1
    code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$1" 2>/dev/null || true)
    [[ $code == "$2" ]] && return 0
    sleep 0.05
  done
  return 1
}
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

read -r up_port ngx_port tpp_port tpp_health emu_port tpp2_port tpp2_health ngx_tls_port tpp_tls_port \
  tpp_tls_health ngx_idle_port sink_port tpp3_port tpp3_health <<<"$(free_ports 14)"

# A realistic DolphinDB token: 128 random bytes, base64, 64-char lines, each
# ending in "\n" (escaped in JSON); the bearer form is the same without them.
token_lines=$(head -c 128 /dev/urandom | base64 -w 64)
bearer=$(tr -d '\n' <<<"$token_lines")
token_json=$(sed 's/$/\\\\n/' <<<"$token_lines" | tr -d '\n')  # "\\n" for nginx = "\n" in JSON

# ---------------------------------------------------------------- the upstream: nginx playing DolphinDB
# One worker: answering a fixed body costs it a fraction of what proxying
# costs, so one core's worth is far more than either proxy can send it, and
# it leaves the other core's time to the proxy under test and wrk (the same
# for both proxies).
mkdir -p "$tmp/upstream" "$tmp/proxy" "$tmp/files"
nginx_common() {  # prefix
  cat <<EOF
daemon off;
pid $1/nginx.pid;
error_log stderr warn;
$( (($(id -u) == 0)) && echo "user root root;")
EOF
}
nginx_http_common() {  # prefix
  cat <<EOF
    access_log off;
    server_tokens off;
    client_body_temp_path $1/client_body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
EOF
}
cat >"$tmp/upstream/nginx.conf" <<EOF
$(nginx_common "$tmp/upstream")
worker_processes 1;
worker_rlimit_nofile 4096;
events { worker_connections 2048; }
http {
$(nginx_http_common "$tmp/upstream")
    default_type application/json;
    server {
        listen 127.0.0.1:$up_port backlog=4096;
        # bigbody: files sent straight from the page cache (the wire limit).
        location /files/ {
            alias $tmp/files/;
            sendfile on;
        }
        location = /api/login {
            return 200 '{"session":"1","user":"admin","code":"0","message":"","result":["$token_json"]}';
        }
        location / {
            # Both proxies must send exactly the pooled token (one string compare).
            if (\$http_authorization != "Bearer $bearer") {
                return 401 '{"session":"0","user":"guest","code":"1","message":"The ticket is invalid or expired","result":[]}';
            }
            return 200 '{"session":"1","user":"admin","code":"0","message":"","resultType":"scalar","result":[{"name":"","form":"scalar","type":"long","value":"1024"}]}';
        }
    }
}
EOF

# ---------------------------------------------------------------- TLS on the proxies' listeners
# Both terminate TLS 1.3 with the same certificate (EC P-256); the client
# (wrk, OpenSSL) offers the same suites to both and both take the client's
# order, so both negotiate the same cipher (checked before the load).
if has_phase tls; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tmp/tls.key" \
    -out "$tmp/tls.crt" -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
    >"$tmp/tls-cert.log" 2>&1 || { cat "$tmp/tls-cert.log" >&2; die "openssl: test certificate"; }
fi
nginx_location() {
  cat <<EOF
        location / {
            proxy_pass http://ddb;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header Authorization "Bearer $bearer";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
EOF
}
nginx_tls_server() {
  cat <<EOF
    server {
        listen 127.0.0.1:$ngx_tls_port ssl reuseport backlog=4096;
        ssl_certificate $tmp/tls.crt;
        ssl_certificate_key $tmp/tls.key;
        ssl_protocols TLSv1.3;
$(nginx_location)
    }
EOF
}

# ---------------------------------------------------------------- nginx as the proxy under comparison
# Same job as tpp: a fixed bearer token, Host kept, X-Forwarded-For/-Proto
# added, keep-alive to the upstream; one worker per core like tpp's default.
nginx_proxy_conf() {  # prefix port with_tls
  cat <<EOF
$(nginx_common "$1")
worker_processes $cores;
worker_rlimit_nofile $(ulimit -n);
events { worker_connections $(( $(ulimit -n) - 64 )); }
http {
$(nginx_http_common "$1")
    upstream ddb {
        server 127.0.0.1:$up_port;
        keepalive 64;
        keepalive_requests 1000000;
    }
    upstream sink {
        server 127.0.0.1:$sink_port;
        keepalive 8;
    }
    server {
        listen 127.0.0.1:$2 reuseport backlog=4096;
$(nginx_location)
        # bigbody: streamed both ways, never spooled to disk (nginx's
        # defaults would write a big response or request body to a temp file).
        location /files/ {
            proxy_pass http://ddb;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer $bearer";
            proxy_buffering off;
            proxy_max_temp_file_size 0;
        }
        location /sink {
            proxy_pass http://sink;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer $bearer";
            proxy_request_buffering off;
            client_max_body_size 0;
        }
    }
$(if (($3)); then nginx_tls_server; fi)
}
EOF
}
nginx_proxy_conf "$tmp/proxy" "$ngx_port" "$(has_phase tls && echo 1 || echo 0)" >"$tmp/proxy/nginx.conf"

tpp_config() {  # file port health_port upstream_port pool_size log_level
  cat >"$1" <<EOF
listen: "127.0.0.1:$2"
health_listen: "127.0.0.1:$3"
upstream: {host: "127.0.0.1", port: $4, tls: false}
credential: {username: "admin", password: "123456"}
token:
  pool_size: $5
telemetry:
  log_filter: "$6"
${TPP_BENCH_OTLP_ENDPOINT:+  otlp_endpoint: \"$TPP_BENCH_OTLP_ENDPOINT\"}
workers: $cores
EOF
}
# pool_size 64 >= 50 client connections: nobody waits for a token.
tpp_config "$tmp/tpp.yaml" "$tpp_port" "$tpp_health" "$up_port" 64 warn

echo "{\"kind\":\"meta\",\"cores\":$cores,\"rounds\":$rounds,\"duration\":$duration,\"threads\":$threads,\"connections\":$connections,\"loadavg\":$(cut -d' ' -f1 /proc/loadavg),\"noisy\":$(awk '{print ($1 >= 0.5) ? "true" : "false"}' /proc/loadavg)}" >>"$results"

if has_phase load || has_phase profile || has_phase alloc || has_phase idle || has_phase tls || has_phase waiters || has_phase bigbody; then
  log "starting the upstream (nginx, 1 worker) on 127.0.0.1:$up_port"
  start_bg upstream nginx -e stderr -p "$tmp/upstream" -c "$tmp/upstream/nginx.conf"
  upstream_pid=$last_pid
  wait_http "http://127.0.0.1:$up_port/api/execute" 401 10 "$upstream_pid" ||
    { cat "$tmp/upstream.log" >&2; die "upstream nginx did not start"; }
  body=$(curl -s -X POST "http://127.0.0.1:$up_port/api/login" -d '{"username":"admin","password":"123456"}')
  python3 -c 'import json,sys; t=json.loads(sys.argv[1])["result"][0]; assert len(t.replace("\n",""))==172 and t.count("\n")==3, t' "$body" ||
    die "upstream login answer is not DolphinDB-shaped: $body"
fi

# ---------------------------------------------------------------- load
cpu_ticks() {  # user and system CPU ticks of the given processes, summed: "user sys"
  local u=0 s=0 p a b
  for p in "$@"; do
    read -r a b < <(awk '{print $14, $15}' "/proc/$p/stat")
    u=$((u + a)) s=$((s + b))
  done
  echo "$u $s"
}
run_wrk() {  # proxy mode port seconds round "pids" [scheme] -> one JSON line in $results (round 0 = warm-up, not kept)
  local proxy=$1 mode=$2 port=$3 secs=$4 round=$5 cpids=$6 scheme=${7:-http} close=0 outf line u0 s0 u1 s1
  [[ $mode == close ]] && close=1
  # shellcheck disable=SC2086
  read -r u0 s0 < <(cpu_ticks $cpids)
  outf=$tmp/wrk-$proxy-$mode-$round.txt
  BENCH_CONNECTION_CLOSE=$close timeout $((${secs%.*} + 30)) \
    wrk -t"$threads" -c"$connections" -d"${secs}s" --latency -s "$bench/post.lua" \
    "$scheme://127.0.0.1:$port" >"$outf" 2>&1 || { cat "$outf" >&2; die "wrk against $proxy ($mode)"; }
  # shellcheck disable=SC2086
  read -r u1 s1 < <(cpu_ticks $cpids)
  line=$(sed -n 's/^BENCH_RESULT //p' "$outf")
  [[ -n $line ]] || { cat "$outf" >&2; die "wrk printed no result ($proxy, $mode)"; }
  line=$(python3 - "$proxy" "$mode" "$round" "$line" $((u1 - u0)) $((s1 - s0)) "$(getconf CLK_TCK)" <<'EOF'
import json, sys
r = json.loads(sys.argv[4])
r.update(kind="load", proxy=sys.argv[1], mode=sys.argv[2], round=int(sys.argv[3]))
# CPU the proxy itself spent per request (user, kernel), in microseconds.
tick_us = 1e6 / int(sys.argv[7])
r["cpu_user_us"] = int(sys.argv[5]) * tick_us / max(1, r["requests"])
r["cpu_sys_us"] = int(sys.argv[6]) * tick_us / max(1, r["requests"])
r["rps"] = r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else 0
errs = sum(r[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
print(json.dumps(r))
print(f"  {r['proxy']:<14} {r['mode']:<9} round {r['round']}: {r['rps']:8.0f} req/s, p50 {r['p50_us'] / 1000:.2f} ms, "
      f"p99 {r['p99_us'] / 1000:.2f} ms, cpu/req {r['cpu_user_us']:.1f}+{r['cpu_sys_us']:.1f} us, errors {errs}", file=sys.stderr)
sys.exit(0 if r["requests"] > 0 and errs == 0 else 1)
EOF
  ) || { cat "$outf" >&2; die "$proxy ($mode): no requests or errors (see above)"; }
  if ((round > 0)); then echo "$line" >>"$results"; fi
}

start_tpp() {  # name config health_port [env...] -> tpp_pid
  local name=$1 cfg=$2 health=$3; shift 3
  start_bg "$name" env "$@" "$tpp" --config "$cfg"
  tpp_pid=$last_pid
  wait_http "http://127.0.0.1:$health/readyz" 200 20 "$tpp_pid" ||
    { cat "$tmp/$name.log" >&2; die "$name did not get ready"; }
}

if has_phase load || has_phase profile || has_phase tls || has_phase bigbody; then
  log "starting nginx (proxy, $cores workers) on 127.0.0.1:$ngx_port and tpp ($cores workers) on 127.0.0.1:$tpp_port"
  start_bg nginx-proxy nginx -e stderr -p "$tmp/proxy" -c "$tmp/proxy/nginx.conf"
  nginx_pid=$last_pid
  wait_http "http://127.0.0.1:$ngx_port/api/execute" 200 10 "$nginx_pid" ||
    { cat "$tmp/nginx-proxy.log" >&2; die "nginx proxy did not start"; }
  start_tpp tpp "$tmp/tpp.yaml" "$tpp_health"
  main_tpp=$tpp_pid
  nginx_workers=$(pgrep -P "$nginx_pid" | tr '\n' ' ')
  # Both proxies must really put the bearer token on the wire.
  for p in "$ngx_port" "$tpp_port"; do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$p/api/execute" -d '{"script":"1+1"}') == 200 ]] ||
      die "proxy on port $p does not answer 200"
  done
fi

if has_phase load; then
  log "load: $rounds round(s) x ${duration} s, keep-alive and connection-per-request, tpp and nginx alternating"
  for mode in keepalive close; do
    run_wrk tpp "$mode" "$tpp_port" "$warmup" 0 "$main_tpp"
    run_wrk nginx "$mode" "$ngx_port" "$warmup" 0 "$nginx_workers"
  done
  for ((r = 1; r <= rounds; r++)); do
    for mode in keepalive close; do
      run_wrk tpp "$mode" "$tpp_port" "$duration" "$r" "$main_tpp"
      run_wrk nginx "$mode" "$ngx_port" "$duration" "$r" "$nginx_workers"
    done
  done
  ngx_hwm=0
  for w in $nginx_workers; do ngx_hwm=$((ngx_hwm + $(kib "$w" VmHWM))); done
  echo "{\"kind\":\"rss\",\"tpp_vmhwm_kib\":$(kib "$main_tpp" VmHWM),\"nginx_vmhwm_kib\":$ngx_hwm}" >>"$results"
fi

if has_phase tls; then
  tpp_config "$tmp/tpp-tls.yaml" "$tpp_tls_port" "$tpp_tls_health" "$up_port" 64 warn
  cat >>"$tmp/tpp-tls.yaml" <<EOF
server_tls: {cert_file: "$tmp/tls.crt", key_file: "$tmp/tls.key", min_version: "1.3"}
EOF
  start_tpp tpp-tls "$tmp/tpp-tls.yaml" "$tpp_tls_health"
  tls_tpp=$tpp_pid
  ciphers=()
  for p in "$ngx_tls_port" "$tpp_tls_port"; do
    [[ $(curl -s --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' -X POST "https://127.0.0.1:$p/api/execute" -d '{"script":"1+1"}') == 200 ]] ||
      die "TLS proxy on port $p does not answer 200"
    ciphers+=("$(openssl s_client -connect "127.0.0.1:$p" </dev/null 2>/dev/null | sed -n 's/^New, \(.*\)$/\1/p')")
  done
  [[ -n ${ciphers[0]} && ${ciphers[0]} == "${ciphers[1]}" ]] ||
    die "nginx and tpp negotiate different TLS: '${ciphers[0]}' vs '${ciphers[1]}'"
  log "tls: ${ciphers[0]}; $rounds round(s) x ${duration} s keep-alive, tpp and nginx alternating"
  echo "{\"kind\":\"tls\",\"cipher\":\"${ciphers[0]}\"}" >>"$results"
  run_wrk tpp tls-keepalive "$tpp_tls_port" "$warmup" 0 "$tls_tpp" https
  run_wrk nginx tls-keepalive "$ngx_tls_port" "$warmup" 0 "$nginx_workers" https
  for ((r = 1; r <= rounds; r++)); do
    run_wrk tpp tls-keepalive "$tpp_tls_port" "$duration" "$r" "$tls_tpp" https
    run_wrk nginx tls-keepalive "$ngx_tls_port" "$duration" "$r" "$nginx_workers" https
  done
  stop_pid "$tls_tpp"
fi

if has_phase profile; then
  psecs=$([[ $short == 1 ]] && echo 2 || echo 6)
  log "profile: perf record (cpu-clock, dwarf call graphs) on tpp for $psecs s of keep-alive load"
  BENCH_CONNECTION_CLOSE=0 timeout $((psecs + 30)) wrk -t"$threads" -c"$connections" -d"$((psecs + 2))s" \
    -s "$bench/post.lua" "http://127.0.0.1:$tpp_port" >"$tmp/wrk-profile.txt" 2>&1 &
  wrk_pid=$!
  pids+=("$wrk_pid")
  sleep 1
  timeout $((psecs + 30)) perf record -q -e cpu-clock -F 299 --call-graph dwarf,8192 -p "$main_tpp" \
    -o "$out/perf.data" -- sleep "$psecs" >"$tmp/perf.log" 2>&1 || { cat "$tmp/perf.log" >&2; die "perf record"; }
  wait "$wrk_pid" || die "wrk during the profile"
  perf report -i "$out/perf.data" --no-children --stdio -g none --sort dso,symbol --percent-limit 0.5 \
    >"$out/perf-self.txt" 2>/dev/null || die "perf report"
  perf report -i "$out/perf.data" --children --stdio -g none --sort symbol --percent-limit 2 \
    >"$out/perf-children.txt" 2>/dev/null || true
  perf report -i "$out/perf.data" --no-children --stdio -g none --sort dso \
    >"$out/perf-dso.txt" 2>/dev/null || true
  echo "{\"kind\":\"profile\",\"report\":\"$out/perf-self.txt (self), $out/perf-children.txt (inclusive), $out/perf-dso.txt\"}" >>"$results"
  for f in "$out"/perf-*.txt; do sed -i 's/[ -]*$//' "$f"; done  # perf pads every line
  log "profile, top self time (all of $out/perf-self.txt):"
  awk '!/^#/ && NF && n++ < 25 {print substr($0, 1, 160)}' "$out/perf-self.txt" >&2
fi

if has_phase alloc; then
  # tpp links mimalloc (TPP_ALLOCATOR); glibc needs a build without it, and
  # jemalloc is preloaded over that one.
  sys_build=$build-system-malloc
  log "allocators: building tpp with the system allocator in $sys_build"
  TPP_BUILD_TYPE=Release TPP_BUILD_DIR=$sys_build "$root/scripts/build.sh" -DTPP_BUILD_TESTS=OFF \
    -DTPP_ALLOCATOR=system "-DCMAKE_CXX_FLAGS=-g -Wno-mismatched-new-delete" >"$tmp/build-sys.log" 2>&1 ||
    { tail -30 "$tmp/build-sys.log" >&2; die "build with the system allocator"; }
  log "allocators: tpp keep-alive with mimalloc (linked), glibc, jemalloc"
  libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
  tpp_config "$tmp/tpp-alloc.yaml" "$tpp2_port" "$tpp2_health" "$up_port" 64 warn
  tpp_shipped=$tpp
  for alloc in mimalloc glibc jemalloc; do
    case $alloc in
      mimalloc) pre= tpp=$tpp_shipped ;;
      glibc) pre= tpp=$sys_build/src/app/tpp ;;
      jemalloc) pre=$libdir/libjemalloc.so.2 tpp=$sys_build/src/app/tpp ;;
    esac
    [[ -z $pre || -e $pre ]] || die "$pre missing"
    start_tpp "tpp-$alloc" "$tmp/tpp-alloc.yaml" "$tpp2_health" ${pre:+LD_PRELOAD=$pre}
    run_wrk "tpp-$alloc" keepalive "$tpp2_port" "$warmup" 0 "$tpp_pid"
    for ((r = 1; r <= rounds; r++)); do
      run_wrk "tpp-$alloc" keepalive "$tpp2_port" "$duration" "$r" "$tpp_pid"
      python3 - "$alloc" "$(kib "$tpp_pid" VmHWM)" "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[3])]
r = rows.pop()
r.update(kind="alloc", alloc=sys.argv[1], vmhwm_kib=int(sys.argv[2]))
rows.append(r)
with open(sys.argv[3], "w") as f:
    f.writelines(json.dumps(x) + "\n" for x in rows)
EOF
    done
    stop_pid "$tpp_pid"
  done
  tpp=$tpp_shipped
fi

if has_phase idle; then
  log "idle connections: $idle_n held open to a fresh tpp"
  tpp_config "$tmp/tpp-idle.yaml" "$tpp2_port" "$tpp2_health" "$up_port" 64 warn
  start_tpp tpp-idle "$tmp/tpp-idle.yaml" "$tpp2_health"
  timeout 120 python3 "$bench/idle_conns.py" --pid "$tpp_pid" --port "$tpp2_port" \
    --health-port "$tpp2_health" -n "$idle_n" --hold "$([[ $short == 1 ]] && echo 0.5 || echo 2)" \
    >"$tmp/idle.txt" 2>&1 || { cat "$tmp/idle.txt" >&2; die "idle connections"; }
  sed -n 's/^BENCH_RESULT {/{"kind":"idle","proxy":"tpp",/p' "$tmp/idle.txt" >>"$results"
  stop_pid "$tpp_pid"
  # The same for a fresh nginx proxy (its workers' RSS summed, accepted
  # connections counted by their descriptors).
  log "idle connections: $idle_n held open to a fresh nginx"
  mkdir -p "$tmp/proxy-idle"
  nginx_proxy_conf "$tmp/proxy-idle" "$ngx_idle_port" 0 >"$tmp/proxy-idle/nginx.conf"
  start_bg nginx-idle nginx -e stderr -p "$tmp/proxy-idle" -c "$tmp/proxy-idle/nginx.conf"
  ngx_idle_pid=$last_pid
  wait_http "http://127.0.0.1:$ngx_idle_port/api/execute" 200 10 "$ngx_idle_pid" ||
    { cat "$tmp/nginx-idle.log" >&2; die "nginx (idle) did not start"; }
  ngx_pid_args=()
  for w in $(pgrep -P "$ngx_idle_pid"); do ngx_pid_args+=(--pid "$w"); done
  timeout 120 python3 "$bench/idle_conns.py" "${ngx_pid_args[@]}" --port "$ngx_idle_port" \
    -n "$idle_n" --hold "$([[ $short == 1 ]] && echo 0.5 || echo 2)" \
    >"$tmp/idle-nginx.txt" 2>&1 || { cat "$tmp/idle-nginx.txt" >&2; die "idle connections (nginx)"; }
  sed -n 's/^BENCH_RESULT {/{"kind":"idle","proxy":"nginx",/p' "$tmp/idle-nginx.txt" >>"$results"
  stop_pid "$ngx_idle_pid"
fi

if has_phase startup; then
  log "start-up: pool_size 200 against the emulator answering each login after 20 ms"
  start_bg emulator "$emulator" --listen "127.0.0.1:$emu_port" --login-delay-ms 20 --threads 1
  emu_pid=$last_pid
  wait_http "http://127.0.0.1:$emu_port/__emulator/control/stats" 200 10 "$emu_pid" ||
    { cat "$tmp/emulator.log" >&2; die "emulator did not start"; }
  tpp_config "$tmp/tpp-startup.yaml" "$tpp2_port" "$tpp2_health" "$emu_port" 200 info
  timeout 60 python3 "$bench/startup.py" --tpp "$tpp" --config "$tmp/tpp-startup.yaml" \
    --health-port "$tpp2_health" --pool 200 --log "$tmp/tpp-startup.log" >"$tmp/startup.txt" 2>&1 ||
    { cat "$tmp/startup.txt" "$tmp/tpp-startup.log" >&2; die "start-up"; }
  sed -n 's/^BENCH_RESULT {/{"kind":"startup",/p' "$tmp/startup.txt" >>"$results"
  stop_pid "$emu_pid"
fi

# One "handover" row from tpp's tpp_token_handover_seconds histogram (at
# $tpp2_health): p50/p99 as the bucket bounds that hold them, and the share
# that took at most 100 us (a bucket bound). Args: the phase and how many
# clients waited.
handover_row() {
  curl -s "http://127.0.0.1:$tpp2_health/metrics" | python3 -c '
import json, sys
b = []
for l in sys.stdin:
    if l.startswith("tpp_token_handover_seconds_bucket"):
        le = l.split("le=\"")[1].split("\"")[0]
        b.append((float("inf") if le == "+Inf" else float(le), float(l.split()[-1])))
n = b[-1][1] if b else 0
q = lambda f: next((le for le, c in b if c >= f * n), None) if n else None
fast = next((c for le, c in b if abs(le - 1e-4) < 1e-12), None)
print(json.dumps({"kind": "handover", "phase": sys.argv[1], "clients": int(sys.argv[2]), "count": n, "p50_le": q(0.5), "p99_le": q(0.99),
                  "within_100us": fast / n if n and fast is not None else None}))
' "$1" "$2" >>"$results"
}

if has_phase fetch; then
  # Issue 13: a real client library, default token.binding, 4 tokens.
  if command -v node >/dev/null; then
    log "Node fetch: 200 concurrent POSTs through pool_size 4, $rounds rounds"
    start_bg emulator-fetch "$emulator" --listen "127.0.0.1:$emu_port" --threads 1
    emu_pid=$last_pid
    wait_http "http://127.0.0.1:$emu_port/__emulator/control/stats" 200 10 "$emu_pid" ||
      { cat "$tmp/emulator-fetch.log" >&2; die "emulator did not start"; }
    tpp_config "$tmp/tpp-fetch.yaml" "$tpp2_port" "$tpp2_health" "$emu_port" 4 warn
    start_tpp tpp-fetch "$tmp/tpp-fetch.yaml" "$tpp2_health"
    for ((r = 1; r <= rounds; r++)); do
      line=$(timeout 120 node "$root/tests/integration/clients/node_fetch.mjs" \
        "http://127.0.0.1:$tpp2_port/__emulator/echo" 200) || die "node fetch: $line"
      echo "{\"kind\":\"fetch\",\"round\":$r,${line#\{}" >>"$results"
    done
    # Hand-over: a token granted to a waiter -> that waiter resuming with it,
    # from tpp's histogram (p50/p99 as the bucket bounds that hold them).
    handover_row fetch 200
    stop_pid "$tpp_pid"
    stop_pid "$emu_pid"
  else
    log "fetch: node is not installed, skipped"
  fi
fi

if has_phase waiters; then
  # Issue 18: the hand-over with 1,000 waiters. wrk keeps 1,000 connections
  # each sending POSTs through 4 tokens, so at any moment ~996 wait; every
  # returned token goes to the next of them.
  log "waiters: 1000 connections through pool_size 4 for ${duration} s"
  tpp_config "$tmp/tpp-waiters.yaml" "$tpp2_port" "$tpp2_health" "$up_port" 4 warn
  start_tpp tpp-waiters "$tmp/tpp-waiters.yaml" "$tpp2_health"
  timeout $((duration + 60)) wrk -t"$threads" -c1000 -d"${duration}s" --timeout 30s -s "$bench/post.lua" \
    "http://127.0.0.1:$tpp2_port" >"$tmp/waiters.txt" 2>&1 || { cat "$tmp/waiters.txt" >&2; die "wrk (waiters)"; }
  grep -q "Socket errors\|Non-2xx" "$tmp/waiters.txt" && { cat "$tmp/waiters.txt" >&2; die "requests failed (waiters)"; }
  handover_row waiters 1000
  stop_pid "$tpp_pid"
fi

if has_phase bigbody; then
  # Issue 18: big bodies. A sparse file served by the upstream with
  # sendfile, fetched straight (the wire limit), through tpp and through
  # nginx; an upload read to its end by bench/body_sink.py, straight and
  # through both. Each proxy's own CPU and tpp's memory growth are kept.
  truncate -s "${big_mib}M" "$tmp/files/big.bin"
  truncate -s "${upload_mib}M" "$tmp/upload.bin"
  curl -s -X POST "http://127.0.0.1:$up_port/api/login" -d '{"username":"admin","password":"123456"}' \
    >"$tmp/login.json"
  start_bg body-sink python3 "$bench/body_sink.py" "$sink_port" "$tmp/login.json"
  sink_pid=$last_pid
  wait_http "http://127.0.0.1:$sink_port/api/login" 200 10 "$sink_pid" ||
    { cat "$tmp/body-sink.log" >&2; die "body sink did not start"; }
  tpp_config "$tmp/tpp-down.yaml" "$tpp2_port" "$tpp2_health" "$up_port" 4 warn
  start_tpp tpp-down "$tmp/tpp-down.yaml" "$tpp2_health"
  down_tpp=$tpp_pid
  tpp_config "$tmp/tpp-up.yaml" "$tpp3_port" "$tpp3_health" "$sink_port" 4 warn
  start_tpp tpp-up "$tmp/tpp-up.yaml" "$tpp3_health"
  up_tpp=$tpp_pid
  down_rss0=$(kib "$down_tpp" VmRSS) up_rss0=$(kib "$up_tpp" VmRSS)
  transfer() {  # dir proxy round url "pids" -> one JSON line in $results (round 0: warm-up)
    local dir=$1 proxy=$2 round=$3 url=$4 cpids=$5 res code secs bytes u0 s0 u1 s1
    # shellcheck disable=SC2086
    read -r u0 s0 < <(cpu_ticks $cpids)
    if [[ $dir == up ]]; then
      res=$(timeout 600 curl -sS -o /dev/null -H 'Expect:' -X POST -T "$tmp/upload.bin" \
        -w '%{http_code} %{time_total} %{size_upload}' "$url") || die "upload through $proxy"
    else
      res=$(timeout 600 curl -sS -o /dev/null -w '%{http_code} %{time_total} %{size_download}' "$url") ||
        die "download through $proxy"
    fi
    # shellcheck disable=SC2086
    read -r u1 s1 < <(cpu_ticks $cpids)
    read -r code secs bytes <<<"$res"
    [[ $code == 200 ]] || die "bigbody $dir through $proxy: HTTP $code"
    local mib=$big_mib
    [[ $dir == up ]] && mib=$upload_mib
    local want=$((mib * 1048576))
    [[ ${bytes%.*} == "$want" ]] || die "bigbody $dir through $proxy: $bytes bytes, not $want"
    log "  bigbody $dir $proxy round $round: ${secs} s"
    ((round > 0)) || return 0
    echo "{\"kind\":\"bigbody\",\"dir\":\"$dir\",\"proxy\":\"$proxy\",\"round\":$round,\"seconds\":$secs,\"bytes\":$want,\"cpu_user_ticks\":$((u1 - u0)),\"cpu_sys_ticks\":$((s1 - s0)),\"clk_tck\":$(getconf CLK_TCK)}" >>"$results"
  }
  log "bigbody: ${big_mib} MiB download, ${upload_mib} MiB upload; direct, tpp, nginx; $rounds round(s)"
  for ((r = 0; r <= rounds; r++)); do
    transfer down direct "$r" "http://127.0.0.1:$up_port/files/big.bin" ""
    transfer down tpp "$r" "http://127.0.0.1:$tpp2_port/files/big.bin" "$down_tpp"
    transfer down nginx "$r" "http://127.0.0.1:$ngx_port/files/big.bin" "$nginx_workers"
    transfer up direct "$r" "http://127.0.0.1:$sink_port/sink" ""
    transfer up tpp "$r" "http://127.0.0.1:$tpp3_port/sink" "$up_tpp"
    transfer up nginx "$r" "http://127.0.0.1:$ngx_port/sink" "$nginx_workers"
  done
  spliced=$(curl -s "http://127.0.0.1:$tpp2_health/metrics" | awk '$1 == "tpp_spliced_bytes_total" {print $2}')
  echo "{\"kind\":\"bigbody_rss\",\"down_rss0_kib\":$down_rss0,\"down_hwm_kib\":$(kib "$down_tpp" VmHWM),\"up_rss0_kib\":$up_rss0,\"up_hwm_kib\":$(kib "$up_tpp" VmHWM),\"down_spliced_bytes\":${spliced:-0}}" >>"$results"
  stop_pid "$down_tpp"
  stop_pid "$up_tpp"
  stop_pid "$sink_pid"
fi

if has_phase failover; then
  # Issue 17: three emulators behind tpp under load; one is killed, then
  # started again. How many requests fail, how soon new ones move, how soon
  # the node is refilled and serves again.
  log "failover: 3 nodes, pool_size 2 each, 4 clients; one node killed and restarted"
  fo_seconds=3
  [[ $short == 1 ]] && fo_seconds=1
  timeout 120 python3 "$bench/failover.py" --tpp "$tpp" --emulator "$emulator" \
    --seconds "$fo_seconds" >"$tmp/failover.txt" 2>&1 || { cat "$tmp/failover.txt" >&2; die "failover"; }
  sed -n 's/^BENCH_RESULT {/{"kind":"failover",/p' "$tmp/failover.txt" >>"$results"
fi

report_args=("$results")
((strict)) && report_args+=(--strict)
python3 "$bench/report.py" "${report_args[@]}" | tee "$out/report.txt"
