// Drives an httpapi server with Arize's own TypeScript client
// (@arizeai/ax-client), so that the wire contract is checked by the code
// its users run, not by our reading of the API docs. Started by
// TestAXClient (../../axclient_test.go), which seeds the store and passes
// everything this script needs in AXCLIENT_FIXTURE (JSON).
//
// The script only reports: it prints one JSON object per case on stdout,
// in order, and never judges. The expectations live in the Go test, so
// that a reader finds them beside the server they describe. Every case
// runs even when an earlier one failed; a case that needs a value an
// earlier case did not produce reports that as its error.
import {
  createClient,
  APIError,
  AuthenticationError,
  AuthorizationError,
  createRoleBinding,
  getRoleBinding,
  updateRoleBinding,
  deleteRoleBinding,
  listRoleBindings,
  createRole,
  getRole,
  updateRole,
  deleteRole,
  listRoles,
  restrictResource,
  unrestrictResource,
  listResourceRestrictions,
} from "@arizeai/ax-client";

const fx = JSON.parse(process.env.AXCLIENT_FIXTURE ?? "null");
if (!fx) {
  console.error("AXCLIENT_FIXTURE is not set: run this through go test (TestAXClient)");
  process.exit(2);
}

// One client per principal, each configured as a user would: a base URL
// and an API key, which the client sends as a bearer token.
const clients = {};
for (const [who, key] of Object.entries(fx.keys)) {
  clients[who] = createClient({ baseUrl: fx.baseUrl, apiKey: key });
}
const as = (who) => clients[who];

// The values earlier cases produced that later ones use (IDs the server
// made up, an ETag).
const saved = {};
const need = (k) => {
  if (saved[k] === undefined) throw new Error(`no ${k}: the case that makes it failed`);
  return saved[k];
};

const iso = (d) => (d instanceof Date ? d.toISOString() : d);
const binding = (b) => ({
  id: b.id,
  userId: b.userId,
  roleId: b.roleId,
  resourceType: b.resourceType,
  resourceId: b.resourceId,
  createdAt: iso(b.createdAt),
  updatedAt: iso(b.updatedAt),
  keys: Object.keys(b).sort(),
});
const role = (r) => ({
  id: r.id,
  name: r.name,
  description: r.description,
  permissions: r.permissions,
  isPredefined: r.isPredefined,
  createdAt: iso(r.createdAt),
  updatedAt: iso(r.updatedAt),
});
const restriction = (r) => ({
  resourceId: r.resourceId,
  resourceType: r.resourceType,
  createdAt: iso(r.createdAt),
});

function errorClass(e) {
  // Most specific first: the subclasses of APIError carry their own name.
  if (e instanceof AuthenticationError) return "AuthenticationError";
  if (e instanceof AuthorizationError) return "AuthorizationError";
  if (e instanceof APIError) return e.name; // BadRequestError, NotFoundError or APIError
  return "Error";
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// helper runs one call of a client helper and reports its value, or the
// class and status of what it threw.
async function helper(name, fn) {
  try {
    const value = await fn();
    emit({ name, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    emit({ name, ok: false, error: errorClass(e), status: e.statusCode ?? 0, message: String(e.message) });
  }
}

// raw runs one call of the client's typed openapi-fetch client, for what
// the helpers cannot send, and reports the response as the server gave it.
async function raw(name, fn) {
  try {
    const { data, error, response } = await fn();
    emit({
      name,
      ok: response.ok,
      status: response.status,
      contentType: response.headers.get("content-type"),
      allow: response.headers.get("allow"),
      etag: response.headers.get("etag"),
      requestId: response.headers.get("x-request-id"),
      data: data ?? null,
      problem: error ?? null,
    });
  } catch (e) {
    emit({ name, ok: false, error: errorClass(e), status: 0, message: String(e.message) });
  }
}

// pageAll lists bindings to the end at one page size and reports every
// ID in the order seen, the number of pages, and whether a page that said
// has_more lacked a cursor.
async function pageAll(who, query, limit) {
  const ids = [];
  let cursor;
  let pages = 0;
  for (;;) {
    const page = await listRoleBindings({ client: as(who), ...query, limit, cursor });
    pages++;
    for (const b of page.data) ids.push(b.id);
    if (!page.pagination.hasMore) {
      return { ids, pages, lastCursor: page.pagination.nextCursor ?? null };
    }
    if (!page.pagination.nextCursor) throw new Error(`page ${pages}: has_more without next_cursor`);
    cursor = page.pagination.nextCursor;
    if (pages > 10000) throw new Error("paging does not end");
  }
}

const ids = fx.ids;

// ---- Authentication (401) ----

await helper("auth: unknown key", () => listRoles({ client: as("stranger") }));
await helper("auth: empty key", () => listRoles({ client: as("empty") }));

// ---- Roles ----

await helper("roles: list predefined", async () => {
  const page = await listRoles({ client: as("carol"), isPredefined: true, limit: 100 });
  return { roles: page.data.map(role), hasMore: page.pagination.hasMore };
});
await helper("roles: get predefined", async () => role(await getRole({ client: as("carol"), roleId: ids.adminRole })));
await helper("roles: get unknown", () => getRole({ client: as("carol"), roleId: ids.unknownRole }));
await helper("roles: get, ID with / and +", () => getRole({ client: as("carol"), roleId: ids.slashRole }));
await helper("roles: get malformed ID", () => getRole({ client: as("carol"), roleId: "not-an-id" }));
await helper("roles: create", async () => {
  const r = role(await createRole({
    client: as("admin"),
    name: "Auditor",
    description: "Reads projects.",
    permissions: ["PROJECT_READ"],
  }));
  saved.auditor = r.id;
  return r;
});
await helper("roles: create, name taken", () => createRole({ client: as("admin"), name: "Auditor", permissions: ["PROJECT_READ"] }));
await helper("roles: create, not an account administrator", () => createRole({ client: as("alice"), name: "Mine", permissions: ["PROJECT_READ"] }));
await helper("roles: create, unknown permission", () => createRole({ client: as("admin"), name: "Odd", permissions: ["NOT_A_PERMISSION"] }));
await helper("roles: update", async () => role(await updateRole({
  client: as("admin"),
  roleId: need("auditor"),
  permissions: ["PROJECT_READ", "DATASET_READ"],
})));
await helper("roles: update, clear description", async () => role(await updateRole({
  client: as("admin"),
  roleId: need("auditor"),
  description: null,
})));
await helper("roles: update predefined", () => updateRole({ client: as("admin"), roleId: ids.adminRole, name: "Boss" }));
await helper("roles: update, not an account administrator", () => updateRole({ client: as("alice"), roleId: need("auditor"), name: "Mine" }));
await helper("roles: delete predefined", () => deleteRole({ client: as("admin"), roleId: ids.readOnlyRole }));
// ---- Role bindings ----

await helper("bindings: create", async () => {
  const b = binding(await createRoleBinding({
    client: as("alice"),
    userId: ids.carol,
    roleId: ids.readOnlyRole,
    resourceType: "SPACE",
    resourceId: ids.space1,
  }));
  saved.carolSpace = b.id;
  return b;
});
await helper("bindings: create, project by its alias ID", async () => {
  const b = binding(await createRoleBinding({
    client: as("alice"),
    userId: ids.carol,
    roleId: need("auditor"),
    resourceType: "PROJECT",
    resourceId: ids.project1Alias,
  }));
  saved.carolProject = b.id;
  return b;
});
await helper("bindings: create, taken slot", () => createRoleBinding({
  client: as("alice"), userId: ids.carol, roleId: ids.memberRole, resourceType: "SPACE", resourceId: ids.space1,
}));
await helper("bindings: create, no permission", () => createRoleBinding({
  client: as("bob"), userId: ids.erin, roleId: ids.readOnlyRole, resourceType: "SPACE", resourceId: ids.space1,
}));
await helper("bindings: create, other space", () => createRoleBinding({
  client: as("alice"), userId: ids.erin, roleId: ids.readOnlyRole, resourceType: "SPACE", resourceId: ids.space2,
}));
await helper("bindings: create, four bad fields", () => createRoleBinding({
  client: as("alice"), userId: "VXNlcjox", roleId: ids.space1, resourceType: "ORG", resourceId: "???",
}));
await helper("bindings: create, space ID as a project", () => createRoleBinding({
  client: as("alice"), userId: ids.erin, roleId: ids.readOnlyRole, resourceType: "PROJECT", resourceId: ids.space1,
}));
await helper("bindings: create, unknown role", () => createRoleBinding({
  client: as("alice"), userId: ids.erin, roleId: ids.unknownRole, resourceType: "SPACE", resourceId: ids.space1,
}));
await helper("bindings: create, escalation", () => createRoleBinding({
  client: as("dave"), userId: ids.erin, roleId: ids.adminRole, resourceType: "PROJECT", resourceId: ids.project1,
}));
await helper("bindings: create, a role the actor holds", async () => {
  const b = binding(await createRoleBinding({
    client: as("dave"), userId: ids.erin, roleId: ids.binderRole, resourceType: "PROJECT", resourceId: ids.project2,
  }));
  saved.erinProject = b.id;
  return b;
});
await helper("bindings: get", async () => binding(await getRoleBinding({ client: as("alice"), bindingId: need("carolSpace") })));
await helper("bindings: get, no permission", () => getRoleBinding({ client: as("bob"), bindingId: need("carolSpace") }));
await helper("bindings: get, unknown", () => getRoleBinding({ client: as("admin"), bindingId: ids.unknownBinding }));
await helper("bindings: get, ID with / and +", () => getRoleBinding({ client: as("admin"), bindingId: ids.slashBinding }));
await helper("bindings: get, a role ID", () => getRoleBinding({ client: as("admin"), bindingId: ids.readOnlyRole }));
await helper("bindings: update", async () => binding(await updateRoleBinding({
  client: as("alice"), bindingId: need("carolSpace"), roleId: ids.memberRole,
})));
await helper("bindings: update, no permission", () => updateRoleBinding({
  client: as("bob"), bindingId: need("carolSpace"), roleId: ids.readOnlyRole,
}));
await helper("bindings: update, unknown role", () => updateRoleBinding({
  client: as("alice"), bindingId: need("carolSpace"), roleId: ids.unknownRole,
}));
await helper("bindings: update, escalation", () => updateRoleBinding({
  client: as("dave"), bindingId: need("erinProject"), roleId: ids.adminRole,
}));
await helper("bindings: update, unknown binding", () => updateRoleBinding({
  client: as("admin"), bindingId: ids.unknownBinding, roleId: ids.readOnlyRole,
}));
await helper("roles: delete, still bound", () => deleteRole({ client: as("admin"), roleId: need("auditor") }));
await helper("bindings: delete, no permission", () => deleteRoleBinding({ client: as("bob"), bindingId: need("carolProject") }));
await helper("bindings: delete", () => deleteRoleBinding({ client: as("alice"), bindingId: need("carolProject") }));
await helper("bindings: delete again", () => deleteRoleBinding({ client: as("alice"), bindingId: need("carolProject") }));
await helper("bindings: get deleted", () => getRoleBinding({ client: as("admin"), bindingId: need("carolProject") }));
await helper("roles: delete", () => deleteRole({ client: as("admin"), roleId: need("auditor") }));
await helper("roles: get deleted", () => getRole({ client: as("admin"), roleId: need("auditor") }));

// ---- Resource restrictions ----

await helper("restrictions: restrict", async () => {
  const r = restriction(await restrictResource({ client: as("alice"), resourceId: ids.project1 }));
  saved.restrictedAt = r.createdAt;
  return r;
});
await helper("restrictions: restrict again", async () => restriction(await restrictResource({ client: as("alice"), resourceId: ids.project1 })));
await helper("restrictions: restrict, no permission", () => restrictResource({ client: as("bob"), resourceId: ids.project2 }));
await helper("restrictions: restrict a space", () => restrictResource({ client: as("alice"), resourceId: ids.space1 }));
await helper("restrictions: list", async () => {
  const page = await listResourceRestrictions({ client: as("alice"), limit: 100 });
  return { restrictions: page.data.map(restriction), hasMore: page.pagination.hasMore };
});
await helper("restrictions: list, resource type PROJECT", async () => {
  const page = await listResourceRestrictions({ client: as("alice"), resourceType: "PROJECT" });
  return { restrictions: page.data.map(restriction), hasMore: page.pagination.hasMore };
});
await helper("restrictions: list without permission", async () => {
  const page = await listResourceRestrictions({ client: as("bob") });
  return { restrictions: page.data.map(restriction), hasMore: page.pagination.hasMore };
});
await helper("restrictions: list, resource type SPACE", () => listResourceRestrictions({ client: as("alice"), resourceType: "SPACE" }));
await helper("restrictions: unrestrict, no permission", () => unrestrictResource({ client: as("bob"), resourceId: ids.project1 }));
await helper("restrictions: unrestrict", () => unrestrictResource({ client: as("alice"), resourceId: ids.project1 }));
await helper("restrictions: unrestrict again", () => unrestrictResource({ client: as("alice"), resourceId: ids.project1 }));

// ---- The raw typed client: what the helpers cannot send ----

const goodBinding = { user_id: ids.frank, role_id: ids.readOnlyRole, resource_type: "SPACE", resource_id: ids.space1 };

await raw("raw: create binding, unknown key", () => as("admin").POST("/v2/role-bindings", {
  body: { ...goodBinding, color: "blue" },
}));
await raw("raw: create binding, system-managed keys", () => as("admin").POST("/v2/role-bindings", {
  body: { ...goodBinding, id: ids.unknownBinding, created_at: "2024-01-01T00:00:00Z", updated_at: "2024-01-01T00:00:00Z" },
}));
await raw("raw: create binding, wrong types", () => as("admin").POST("/v2/role-bindings", {
  body: { user_id: 12, role_id: true, resource_type: ["SPACE"], resource_id: { id: ids.space1 } },
}));
await raw("raw: create binding, null field", () => as("admin").POST("/v2/role-bindings", {
  body: { ...goodBinding, role_id: null },
}));
await raw("raw: create binding, empty body", () => as("admin").POST("/v2/role-bindings", { body: {} }));
await raw("raw: create binding", () => as("admin").POST("/v2/role-bindings", { body: goodBinding }));
await raw("raw: get binding", async () => {
  const list = await listRoleBindings({ client: as("admin"), resourceType: "SPACE", userId: ids.frank });
  saved.frankSpace = list.data[0]?.id;
  const res = await as("admin").GET("/v2/role-bindings/{binding_id}", { params: { path: { binding_id: need("frankSpace") } } });
  saved.etag = res.response.headers.get("etag") ?? undefined;
  return res;
});
await raw("raw: change role, other keys", () => as("admin").PATCH("/v2/role-bindings/{binding_id}", {
  params: { path: { binding_id: need("frankSpace") } },
  body: { role_id: ids.memberRole, user_id: ids.erin, resource_type: "PROJECT" },
}));
await raw("raw: change role, wrong type", () => as("admin").PATCH("/v2/role-bindings/{binding_id}", {
  params: { path: { binding_id: need("frankSpace") } },
  body: { role_id: 7 },
}));
await raw("raw: change role, If-Match current", () => as("admin").PATCH("/v2/role-bindings/{binding_id}", {
  params: { path: { binding_id: need("frankSpace") } },
  headers: { "If-Match": need("etag") },
  body: { role_id: ids.memberRole },
}));
await raw("raw: change role, If-Match stale", () => as("admin").PATCH("/v2/role-bindings/{binding_id}", {
  params: { path: { binding_id: need("frankSpace") } },
  headers: { "If-Match": need("etag") },
  body: { role_id: ids.readOnlyRole },
}));
await raw("raw: create role, system-managed keys", () => as("admin").POST("/v2/roles", {
  body: { name: "Sneaky", permissions: ["PROJECT_READ"], is_predefined: true, id: ids.unknownRole },
}));
await raw("raw: create role, wrong types", () => as("admin").POST("/v2/roles", {
  body: { name: 5, permissions: "PROJECT_READ", description: false },
}));
await raw("raw: restrict, unknown key", () => as("alice").POST("/v2/resource-restrictions", {
  body: { resource_id: ids.project2, reason: "audit" },
}));
await raw("raw: restrict, wrong type", () => as("alice").POST("/v2/resource-restrictions", {
  body: { resource_id: 42 },
}));
await raw("raw: PUT on a binding", () => as("admin").PUT("/v2/role-bindings/{binding_id}", {
  params: { path: { binding_id: need("frankSpace") } },
  body: goodBinding,
}));
await raw("raw: create binding, text/plain body", () => as("admin").POST("/v2/role-bindings", {
  body: "role_id=x",
  bodySerializer: (b) => b,
  headers: { "Content-Type": "text/plain" },
}));
await raw("raw: unknown path", () => as("admin").GET("/v2/role-bindings-and-more"));
await helper("bindings: get, storage failing", () => getRoleBinding({ client: as("admin"), bindingId: ids.failingBinding }));
await raw("raw: get binding, storage failing", () => as("admin").GET("/v2/role-bindings/{binding_id}", {
  params: { path: { binding_id: ids.failingBinding } },
}));
await raw("raw: list bindings without resource type", () => as("admin").GET("/v2/role-bindings", {
  params: { query: { limit: 10 } },
}));
await raw("raw: list bindings, limit not a number", () => as("admin").GET("/v2/role-bindings", {
  params: { query: { resource_type: "SPACE", limit: "ten" } },
}));

// ---- Listing, last, so that the store the Go test lists afterwards is
// the one these listings saw ----

await helper("roles: list to the end at limit 1", async () => {
  const seen = [];
  let cursor;
  for (let i = 0; i < 1000; i++) {
    const page = await listRoles({ client: as("carol"), limit: 1, cursor });
    seen.push(...page.data.map((r) => r.id));
    if (!page.pagination.hasMore) return { ids: seen };
    cursor = page.pagination.nextCursor;
  }
  throw new Error("paging does not end");
});
await helper("bindings: list SPACE to the end at limit 1", () => pageAll("admin", { resourceType: "SPACE" }, 1));
await helper("bindings: list SPACE to the end at limit 100", () => pageAll("admin", { resourceType: "SPACE" }, 100));
await helper("bindings: list PROJECT to the end at limit 100", () => pageAll("admin", { resourceType: "PROJECT" }, 100));
await helper("bindings: list SPACE as a space administrator at limit 7", () => pageAll("alice", { resourceType: "SPACE" }, 7));
await helper("bindings: list SPACE of one user at limit 1", () => pageAll("admin", { resourceType: "SPACE", userId: ids.carol }, 1));
await helper("bindings: list SPACE without permission", () => pageAll("bob", { resourceType: "SPACE" }, 100));
await helper("bindings: list, bad resource type", () => listRoleBindings({ client: as("admin"), resourceType: "ORG" }));
await helper("bindings: list, limit 0", () => listRoleBindings({ client: as("admin"), resourceType: "SPACE", limit: 0 }));
await helper("bindings: list, limit 101", () => listRoleBindings({ client: as("admin"), resourceType: "SPACE", limit: 101 }));
await helper("bindings: list, tampered cursor", async () => {
  const page = await listRoleBindings({ client: as("admin"), resourceType: "SPACE", limit: 1 });
  const c = page.pagination.nextCursor ?? "";
  const tampered = c.slice(0, -2) + (c.slice(-2, -1) === "A" ? "B" : "A") + c.slice(-1);
  return listRoleBindings({ client: as("admin"), resourceType: "SPACE", limit: 1, cursor: tampered });
});
await helper("bindings: list, cursor of another filter", async () => {
  const page = await listRoleBindings({ client: as("admin"), resourceType: "SPACE", limit: 1 });
  return listRoleBindings({ client: as("admin"), resourceType: "PROJECT", limit: 1, cursor: page.pagination.nextCursor });
});
