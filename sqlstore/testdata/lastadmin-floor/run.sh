#!/usr/bin/env bash
# What the last-administrator rule can cost on PostgreSQL at the least:
# single deletes of an administrator whose space has another one, the
# case BenchmarkPairedLastAdmin measures, without Go or database/sql in
# between, in the schema of the migrations and against the rule-off
# delete. pgbench runs the scripts in one process, one transaction at a
# time, each picked at random (so all see the same moments of the
# machine), over prepared statements as the store uses them:
#
#   plain, plain2  the store's delete with the rule off: DELETE by ID, then
#                  the change feed's append (plain2 is the control)
#   rule           the store's delete with the rule on: migration 0005's
#                  rbac_delete_binding_protected, then the append
#   check          the rule's check in the DELETE, without the locks
#                  (not safe: what the rule would cost if locks were free)
#   probe          the cheapest check conceivable: one index probe for
#                  another administrator, on a flag copied onto the
#                  binding's row, without locks (not safe either)
#   rowlock        a safe one-statement alternative: lock the space's
#                  first two administrators (row locks, in ID order, on
#                  that flag), then delete unless no other is left
#
# It prints, per round, each script's mean latency, and then for each
# script the median of its per-round ratio to plain. Usage:
#
#   RBAC_POSTGRES_DSN=postgres://... sqlstore/testdata/lastadmin-floor/run.sh [rounds] [transactions-per-round]
#
# It creates (and drops first) the database rbac_floor on that server.
set -euo pipefail

dir=$(cd "$(dirname "$0")" && pwd)
mig="$dir/../../migrations/postgres"
dsn=${RBAC_POSTGRES_DSN:?set RBAC_POSTGRES_DSN to a PostgreSQL server}
rounds=${1:-5}
per_round=${2:-24000}
base=${dsn%%\?*}
floor_dsn="${base%/*}/rbac_floor${dsn#"$base"}"
scripts=(plain rule check probe rowlock plain2)
# Each script deletes from a range of victims of its own; a round takes
# about per_round/6 of it, so stride leaves room for pgbench's random
# picking.
stride=$(( per_round / ${#scripts[@]} * 2 ))
range=$(( stride * rounds ))
spaces=$(( range * ${#scripts[@]} ))

psql -q -X -v ON_ERROR_STOP=1 "$dsn" -c 'DROP DATABASE IF EXISTS rbac_floor' -c 'CREATE DATABASE rbac_floor'
for f in "$mig"/*.sql; do
  psql -q -X -v ON_ERROR_STOP=1 "$floor_dsn" -f "$f" >/dev/null
done
psql -q -X -v ON_ERROR_STOP=1 -v spaces="$spaces" "$floor_dsn" -f "$dir/setup.sql"

append="WITH r AS (UPDATE rbac_revision SET revision = revision + 1 WHERE one = 1 RETURNING revision)
    INSERT INTO rbac_changes (revision, payload) SELECT revision, repeat('x', 200) FROM r RETURNING revision;"
cols="d.id, d.role_id, d.user_id, d.resource_type, d.resource_id, d.created_at, d.updated_at"
delete_of() { # the delete statement of script $1, victim 'v' || :$1
  local id="'v' || :$1"
  case $1 in
  plain | plain2) echo "DELETE FROM rbac_role_bindings d WHERE d.id = $id RETURNING $cols;" ;;
  rule) echo "SELECT * FROM rbac_delete_binding_protected($id, $((0x72626173)), $((0x72626167)), 'SPACE');" ;;
  check) echo "DELETE FROM rbac_role_bindings d WHERE d.id = $id AND NOT EXISTS (
        SELECT 1 FROM rbac_role_bindings b WHERE b.id = $id AND b.resource_type = 'SPACE'
        AND EXISTS (SELECT 1 FROM rbac_roles r WHERE r.id = b.role_id AND r.holds_admin)
        AND NOT EXISTS (SELECT 1 FROM rbac_role_bindings o JOIN rbac_roles ro ON ro.id = o.role_id
            WHERE o.resource_type = b.resource_type AND o.resource_id = b.resource_id AND o.id <> b.id
            AND ro.holds_admin)) RETURNING $cols;" ;;
  probe) echo "DELETE FROM rbac_role_bindings d WHERE d.id = $id AND (NOT d.admin_flag OR d.resource_type <> 'SPACE'
        OR EXISTS (SELECT 1 FROM rbac_role_bindings o WHERE o.resource_type = 'SPACE' AND o.resource_id = d.resource_id
            AND o.admin_flag AND o.id <> d.id)) RETURNING $cols;" ;;
  rowlock) echo "WITH l AS (SELECT o.id FROM rbac_role_bindings o WHERE o.resource_type = 'SPACE' AND o.admin_flag
        AND o.resource_id = (SELECT t.resource_id FROM rbac_role_bindings t WHERE t.id = $id AND t.resource_type = 'SPACE' AND t.admin_flag)
        ORDER BY o.id LIMIT 2 FOR NO KEY UPDATE)
    DELETE FROM rbac_role_bindings d WHERE d.id = $id AND (NOT d.admin_flag OR d.resource_type <> 'SPACE'
        OR EXISTS (SELECT 1 FROM l WHERE l.id <> d.id)) RETURNING $cols;" ;;
  esac
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=()
for s in "${scripts[@]}"; do
  printf '\\set %s :%s + 1\nBEGIN;\n%s\n%s\nCOMMIT;\n' "$s" "$s" "$(delete_of "$s")" "$append" >"$work/$s.sql"
  args+=(-f "$work/$s.sql@1")
done

for ((r = 0; r < rounds; r++)); do
  defs=()
  for i in "${!scripts[@]}"; do
    defs+=(-D "${scripts[$i]}=$(( i * range + r * stride ))")
  done
  pgbench -n -M prepared -c 1 -t "$per_round" "${defs[@]}" "${args[@]}" "$floor_dsn" >"$work/round$r" 2>&1 ||
    { cat "$work/round$r" >&2; exit 1; }
  awk -v r="$r" '/^SQL script [0-9]+: /{name=$4; sub(/.*\//,"",name); sub(/\.sql$/,"",name)}
    /- [0-9]+ transactions/{n[name]=$2}
    /- latency average/{printf "round %d %-8s %8.1f us %6d tx\n", r, name, $5*1000, n[name]}' "$work/round$r"
done | tee "$work/all"

# Every script must have deleted a victim in each of its transactions:
# a delete that found nothing would be cheap and make a ratio lie.
want=$(awk '{s+=$6} END {print s}' "$work/all")
left=$(psql -X -At "$floor_dsn" -c "SELECT count(*) FROM rbac_role_bindings WHERE user_id = 'u1'")
if [ $(( spaces - left )) -ne "$want" ]; then
  echo "run.sh: $(( spaces - left )) victims deleted, but $want transactions ran" >&2
  exit 1
fi
awk '{t[$3, $2] = $4} $3 == "plain" {base[$2] = $4}
  END {for (k in t) {split(k, p, SUBSEP); print p[1], t[k] / base[p[2]]}}' "$work/all" |
  sort -k1,1 -k2,2n |
  awk '{v[$1, ++n[$1]] = $2}
    END {
      for (s in n) {
        k = n[s]
        m = k % 2 ? v[s, (k + 1) / 2] : (v[s, k / 2] + v[s, k / 2 + 1]) / 2
        printf "%-8s median ratio to plain %.3f (%.3f-%.3f over %d rounds)\n", s, m, v[s, 1], v[s, k], k
      }
    }' | sort
psql -q -X "$dsn" -c 'DROP DATABASE rbac_floor'
