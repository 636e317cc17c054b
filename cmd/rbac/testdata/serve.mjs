// Drives a running `rbac serve` with Arize's own client, @arizeai/ax-client,
// installed in httpapi/testdata/axclient (its lockfile pins the version).
// Started by TestServe (../serve_test.go), which passes SERVE_FIXTURE
// (JSON). Like httpapi's script it only reports, one JSON object a line
// on stdout, and the Go test judges.
//
// Phases: a few calls as an administrator and as nobody; then `count`
// concurrent creates, and the line {"phase":"midway"} once a quarter of
// them have answered, at which the test sends SIGTERM; then one line per
// create saying whether it got an answer, and which.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const fx = JSON.parse(process.env.SERVE_FIXTURE ?? "null");
if (!fx) {
  console.error("SERVE_FIXTURE is not set: run this through go test (TestServe)");
  process.exit(2);
}
const ax = await import(pathToFileURL(join(fx.clientDir, "node_modules", "@arizeai", "ax-client", "dist", "esm", "index.js")).href);
const admin = ax.createClient({ baseUrl: fx.baseUrl, apiKey: fx.adminKey });
process.env.DISABLE_PRERELEASE_WARNING = "true";
const stranger = ax.createClient({ baseUrl: fx.baseUrl, apiKey: "rbac_not-a-key" });
const say = (o) => console.log(JSON.stringify(o));
// The client's errors carry the HTTP status as statusCode; a request that
// got no answer (connection refused) has none.
const errorOf = (e) => ({
  error: e instanceof ax.AuthenticationError ? "AuthenticationError" : e instanceof ax.APIError ? e.name : "Error",
  status: e?.statusCode ?? 0,
  message: String(e?.message ?? e),
});

try {
  const b = await ax.createRoleBinding({ client: admin, userId: fx.users[0], roleId: fx.roleId, resourceType: "SPACE", resourceId: fx.spaceId });
  const got = await ax.getRoleBinding({ client: admin, bindingId: b.id });
  say({ phase: "smoke", name: "create and get", ok: true, id: got.id, userId: got.userId });
} catch (e) {
  say({ phase: "smoke", name: "create and get", ok: false, ...errorOf(e) });
}
try {
  await ax.listRoleBindings({ client: stranger });
  say({ phase: "smoke", name: "unknown key", ok: true });
} catch (e) {
  say({ phase: "smoke", name: "unknown key", ok: false, ...errorOf(e) });
}

const n = fx.users.length - 1;
let answered = 0;
let told = false;
const results = await Promise.all(
  fx.users.slice(1).map(async (userId, i) => {
    // Bursts of 20 over most of a second, so that when the signal
    // arrives a burst is in flight and later ones are still to come.
    await new Promise((r) => setTimeout(r, Math.floor(i / 20) * 40));
    let out;
    try {
      const b = await ax.createRoleBinding({ client: admin, userId, roleId: fx.roleId, resourceType: "SPACE", resourceId: fx.spaceId });
      out = { phase: "load", i, userId, ok: true, id: b.id };
    } catch (e) {
      out = { phase: "load", i, userId, ok: false, ...errorOf(e) };
    }
    answered++;
    if (!told && answered >= n / 4) {
      told = true;
      say({ phase: "midway" });
    }
    return out;
  }),
);
for (const r of results) say(r);
