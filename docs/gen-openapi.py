#!/usr/bin/env python3
# Builds docs/openapi.json; the code list is read from lib/gateway.h.
#
#   python3 docs/gen-openapi.py ROOT [--groups sources,status,...] [--out FILE]
#
# The document holds the endpoint groups of GROUPS (one per program), or
# those --groups names; components only the left-out groups use are dropped.
# Every route is one route(...) block below, under its group's heading.
# The result is checked (references, operation ids, path parameters, codes)
# and, when openapi-spec-validator is installed, validated as OpenAPI 3.1.
import argparse, json, re, sys

GROUPS = ["sources", "quotas", "jobs", "deadletter", "packruns", "audit",
          "status"]

ap = argparse.ArgumentParser(description="Generate docs/openapi.json.")
ap.add_argument("root", help="the source tree (holds lib/gateway.h)")
ap.add_argument("--groups", default=",".join(GROUPS),
                help="comma-separated endpoint groups (default: all: %s)" %
                ",".join(GROUPS))
ap.add_argument("--out", help="output file (default ROOT/docs/openapi.json;"
                " - for stdout)")
args = ap.parse_args()
root = args.root
WANT = [g for g in args.groups.split(",") if g]
for g in WANT:
    if g not in GROUPS:
        ap.error("unknown group %r (groups: %s)" % (g, ", ".join(GROUPS)))
hdr = open(root + "/lib/gateway.h").read()
enum = hdr[hdr.index("enum gw_err {"):hdr.index("GW_ERR__MAX")]
CODES = []
for m in re.finditer(r"GW_ERR_([A-Z_]+),\s*/\*\s*(\d{3})", enum):
    CODES.append(("ERR_" + m.group(1), int(m.group(2))))
STATUS = dict(CODES)
assert len(CODES) == enum.count("GW_ERR_"), "unparsed enum line"

WHEN = {
    "ERR_ROUTE_NOT_FOUND": "The path is not a route of the program that received it (pipeline stage 1).",
    "ERR_METHOD_NOT_ALLOWED": "The path is a route, but not for this method; Allow lists the methods it takes (HEAD wherever GET).",
    "ERR_PAYLOAD_TOO_LARGE": "The request body is larger than limits.max_body_bytes (default 65536); it is refused before it is read.",
    "ERR_UNSUPPORTED_MEDIA_TYPE": "A body sent to a route that takes one is not application/json (a charset parameter, if any, must be utf-8).",
    "ERR_AUTHENTICATION_REQUIRED": "No usable credentials: no Authorization header, another scheme, an empty token, or two Authorization headers. The challenge carries no error= (RFC 6750 section 3.1).",
    "ERR_INVALID_TOKEN": "The access token fails a check of SPEC section 3 (format, alg, kid, signature, exp/nbf/iat, lifetime, iss, aud, sub, typ, scope claim types), or a DPoP-bound token came under the Bearer scheme.",
    "ERR_INVALID_DPOP_PROOF": "The DPoP proof (RFC 9449) is missing where required, malformed, or fails a check (typ, alg, jwk, signature, jti, htm, htu, iat, ath, cnf.jkt), or its jti was already used with that key. (A replay record that cannot be written is 503 ERR_UNAVAILABLE, not 401.)",
    "ERR_TENANT_MISMATCH": "X-Stella-Tenant missing, malformed or repeated, X-Stella-Tenant and X-StellaOps-Tenant both present and different, the token has no tenant claim, the header differs from the claim, or X-Stella-Project is malformed.",
    "ERR_SCOPE_HEADER_FORBIDDEN": "X-Stella-Scopes was sent while auth.allow_scope_header is false, or sent twice where it is allowed.",
    "ERR_SCOPE_MISMATCH": "The granted scopes do not include the scope the route requires.",
    "ERR_OPERATOR_REASON_REQUIRED": "A mutation without a valid X-Stella-Operator-Reason (1-256 bytes of UTF-8, no control characters).",
    "ERR_INVALID_OPERATOR_TICKET": "X-Stella-Operator-Ticket is not 1-128 characters of [A-Za-z0-9._:/#-].",
    "ERR_INVALID_ID": "A path id is not 1-128 characters of [A-Za-z0-9._:-].",
    "ERR_INVALID_QUERY": "An undocumented, repeated or malformed query parameter; details names it.",
    "ERR_INVALID_LIMIT": "limit is not an integer from 1 to 200 written in plain decimal.",
    "ERR_INVALID_BODY": "Before authentication: a malformed Content-Length (any route), or a body that is not one JSON object (malformed, deeper than 16, duplicate members, trailing data). In the handler: an unknown or missing required member, or a member of the wrong type or outside its range or pattern; details has one pointer per such member, and the refusal is audited.",
    "ERR_INVALID_CONTINUATION_TOKEN": "The continuation token is malformed, tampered with, minted by another server key, or minted for another tenant, project, route or filter set.",
    "ERR_CONTINUATION_TOKEN_EXPIRED": "The continuation token's expiry has passed.",
    "ERR_INVALID_IDEMPOTENCY_KEY": "Idempotency-Key is not 1-255 visible ASCII characters.",
    "ERR_VALIDATION": "The body's members are each valid but impossible together: burst > maxPerHour (quota POST, PUT), or a pending replay's filter.failedAfter not earlier than filter.failedBefore; details points at the member.",
    "ERR_IDEMPOTENCY_KEY_REUSED": "An Idempotency-Key already used for this tenant, method and path came with a different body.",
    "ERR_PRECONDITION_FAILED": "If-Match on a quota PUT or DELETE does not match the quota's current ETag (strong comparison, checked atomically with the write); nothing changed.",
    "ERR_CONFLICT": "A write collided with a unique constraint, for example a concurrent writer.",
    "ERR_IDEMPOTENCY_IN_PROGRESS": "A request with the same Idempotency-Key is still being processed.",
    "ERR_SOURCE_NOT_FOUND": "No source with this id in the tenant (and project, if X-Stella-Project is sent).",
    "ERR_QUOTA_NOT_FOUND": "No quota with this id in the tenant (and project).",
    "ERR_QUOTA_EXISTS": "A quota for this (tenant, project, jobType) already exists.",
    "ERR_DEADLETTER_NOT_FOUND": "No deadletter entry with this id in the tenant (and project).",
    "ERR_DEADLETTER_NOT_RETRYABLE": "The entry is not retryable and force was not given.",
    "ERR_DEADLETTER_NOT_PENDING": "The entry is not pending.",
    "ERR_PACKRUN_NOT_FOUND": "No pack run with this id in the tenant (and project).",
    "ERR_PACKRUN_TERMINAL": "Cancel of a pack run that succeeded, failed or timed out.",
    "ERR_PACKRUN_NOT_RETRYABLE": "Retry of a pack run that is not failed, canceled or timed out.",
    "ERR_PACKRUN_RETRY_IN_PROGRESS": "Retry of a pack run that already has a retry that is not terminal.",
    "ERR_UNAVAILABLE": "The store is unavailable, stayed busy past its timeout, or the write transaction or its audit record failed; nothing of the request was written. Also when the DPoP replay record cannot be written (fail closed: the request is refused; retry with a fresh proof). Retry-After says when to try again.",
    "ERR_INTERNAL": "A bug or a broken host; never expected.",
}
assert set(WHEN) == set(STATUS), set(WHEN) ^ set(STATUS)

ref = lambda kind, name: {"$ref": "#/components/%s/%s" % (kind, name)}
P = lambda n: ref("parameters", n)
H = lambda n: ref("headers", n)
S = lambda n: ref("schemas", n)

EXAMPLE_TIME = "2026-11-27T09:58:45Z"
CACHE = "private, max-age=60, stale-if-error=300"
VARY = "Authorization, X-Stella-Tenant, X-Stella-Project"

components = {
    "securitySchemes": {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "`Authorization: Bearer <access token>`: a JWS compact JWT signed by the Authority (typ at+jwt, JWT or absent; RS/PS/ES 256/384/512). Checked as SPEC section 3 says: key from auth.jwks_file by kid, exp required, nbf/iat, exp - iat <= auth.max_token_lifetime_seconds (also when iat is absent: exp - now), iss, aud, sub, tenant claim. The security requirement lists the scope (from `scope` and `scp`) the operation needs. A DPoP-bound token (cnf.jkt) is refused under this scheme."
        },
        "dpop": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: DPoP <access token>` together with a `DPoP: <proof>` header (RFC 9449). OpenAPI has no DPoP scheme; this entry stands for the Authorization header's DPoP form. The access token is checked as under `bearer`; the proof must be a dpop+jwt signed with its embedded public jwk (ES256, RS256 or PS256), with htm = the method, htu = server.public_base_url + path, iat within auth.dpop_max_age_seconds, ath = base64url(SHA-256(token)), jti never seen before for that key, and, for a bound token, cnf.jkt = the RFC 7638 thumbprint of the jwk. Required when the token is bound or auth.require_dpop = true; verified whenever a DPoP header is present. The jti is recorded in the store (so a replay is refused across processes and machines); if that record cannot be written the request is refused with 503 ERR_UNAVAILABLE and Retry-After (fail closed), not 401. The security requirement lists the scope the operation needs."
        }
    },
    "parameters": {
        "XStellaTenant": {
            "name": "X-Stella-Tenant", "in": "header", "required": True,
            "description": "The tenant; must equal the token's tenant claim (the first present of auth.tenant_claims, default stellaops:tenant, tid, ten), compared byte for byte. X-StellaOps-Tenant may be sent instead. Missing, malformed or different: 400 ERR_TENANT_MISMATCH.",
            "schema": S("TenantId"), "example": "acme"
        },
        "XStellaOpsTenant": {
            "name": "X-StellaOps-Tenant", "in": "header", "required": False,
            "description": "Alias of X-Stella-Tenant. When both are sent they must be equal, else 400 ERR_TENANT_MISMATCH.",
            "schema": S("TenantId")
        },
        "XStellaProject": {
            "name": "X-Stella-Project", "in": "header", "required": False,
            "description": "Narrows every read to rows of this projectId (rows with a null projectId are then excluded). Malformed: 400 ERR_TENANT_MISMATCH.",
            "schema": S("TenantId"), "example": "alpha"
        },
        "XStellaTraceId": {
            "name": "X-Stella-Trace-Id", "in": "header", "required": False,
            "description": "The client's trace id, echoed in the X-Stella-Trace-Id response header and in error bodies. An invalid one is ignored and a new ULID used instead.",
            "schema": S("TraceId")
        },
        "Traceparent": {
            "name": "traceparent", "in": "header", "required": False,
            "description": "W3C Trace Context; logged beside the trace id, not interpreted.",
            "schema": {"type": "string"}
        },
        "XStellaScopes": {
            "name": "X-Stella-Scopes", "in": "header", "required": False,
            "description": "Refused with 403 ERR_SCOPE_HEADER_FORBIDDEN unless auth.allow_scope_header = true. When allowed, a space-separated list that can only narrow the token's granted scopes to their intersection with it; it never grants a scope the token lacks.",
            "schema": {"type": "string"}
        },
        "DPoP": {
            "name": "DPoP", "in": "header", "required": False,
            "description": "The DPoP proof (RFC 9449), exactly one, with `Authorization: DPoP <token>`; see the `dpop` security scheme. A malformed or failing proof: 401 ERR_INVALID_DPOP_PROOF.",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$", "description": "One compact JWS: three base64url segments."}
        },
        "IfNoneMatch": {
            "name": "If-None-Match", "in": "header", "required": False,
            "description": "`*` or a list of entity tags (strong or weak). Compared weakly (RFC 9110 section 13.1.2) with the response's ETag: a match gives 304 with the same ETag, Cache-Control and Vary and no body. A malformed field never matches.",
            "schema": {"type": "string"}, "example": "\"3q9zv1c8mLxwQ0vU4sN7Zg\""
        },
        "SourceType": {
            "name": "sourceType", "in": "query", "required": False,
            "description": "Only sources of this sourceType (exact match).",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128}, "example": "registry"
        },
        "Enabled": {
            "name": "enabled", "in": "query", "required": False,
            "description": "Only enabled (`true`) or disabled (`false`) sources. Exactly `true` or `false`; anything else is 400 ERR_INVALID_QUERY.",
            "schema": {"type": "string", "enum": ["true", "false"]}
        },
        "Limit": {
            "name": "limit", "in": "query", "required": False,
            "description": "Page size, an integer from 1 to 200 in plain decimal (no sign, exponent or leading zero); default 50. Anything else is 400 ERR_INVALID_LIMIT. Not bound into the continuation token: the next page may use another limit.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
        },
        "ContinuationToken": {
            "name": "continuationToken", "in": "query", "required": False,
            "description": "The continuationToken of the previous page, as returned. Opaque base64url, HMAC-SHA256 signed; bound to the tenant, project, route and every filter (sourceType, enabled), and to an expiry of pagination.token_ttl_seconds (default 86400) rounded up to the next whole hour. Tampered, foreign or mismatched: 400 ERR_INVALID_CONTINUATION_TOKEN; expired: 400 ERR_CONTINUATION_TOKEN_EXPIRED.",
            "schema": S("ContinuationToken")
        },
        "SourceId": {
            "name": "sourceId", "in": "path", "required": True,
            "description": "The source's id; 1-128 characters of [A-Za-z0-9._:-], else 400 ERR_INVALID_ID.",
            "schema": S("Id")
        }
    },
    "headers": {
        "ETag": {
            "description": "Strong entity tag of the response: 22 base64url characters of SHA-256 over the tenant, the route and the body bytes, quoted. The same on HEAD and on a 304.",
            "schema": {"type": "string", "pattern": "^\"[A-Za-z0-9_-]{22}\"$"}, "example": "\"3q9zv1c8mLxwQ0vU4sN7Zg\""
        },
        "CacheControl": {
            "description": "`" + CACHE + "` (max-age from cache.max_age, stale-if-error from cache.stale_if_error).",
            "schema": {"type": "string"}, "example": CACHE
        },
        "CacheControlNoStore": {
            "description": "`no-store`: on every error response, and on the health check, whose answer is about now and must not come from a cache.",
            "schema": {"type": "string", "const": "no-store"}
        },
        "Vary": {
            "description": "`" + VARY + "`.",
            "schema": {"type": "string", "const": VARY}
        },
        "XStellaTraceId": {
            "description": "The request's trace id: the client's X-Stella-Trace-Id if it was valid, else a new ULID. On every response.",
            "schema": S("TraceId"), "example": "01JDM4W3Y2T0R9Q8P7N6M5K4J3"
        },
        "WWWAuthenticate": {
            "description": "On 401 and on 403 ERR_SCOPE_MISMATCH (RFC 6750 section 3, RFC 9449 section 7.1). ERR_AUTHENTICATION_REQUIRED: `Bearer realm=\"jobengine\", DPoP algs=\"ES256 RS256 PS256\"`. ERR_INVALID_TOKEN: `Bearer error=\"invalid_token\"`, or `DPoP error=\"invalid_token\"` under the DPoP scheme. ERR_INVALID_DPOP_PROOF: `DPoP error=\"invalid_dpop_proof\", algs=\"ES256 RS256 PS256\"`. ERR_SCOPE_MISMATCH: `Bearer error=\"insufficient_scope\", scope=\"<needed scope>\"`. Not sent with ERR_SCOPE_HEADER_FORBIDDEN.",
            "schema": {"type": "string"}
        },
        "Allow": {
            "description": "On 405: the methods the path takes, in the order GET, HEAD, POST, PUT, DELETE (for example `GET, HEAD`).",
            "schema": {"type": "string"}, "example": "GET, HEAD"
        },
        "RetryAfter": {
            "description": "On 503: seconds after which to retry (RFC 9110 section 10.2.3).",
            "schema": {"type": "integer", "minimum": 0}, "example": 1
        }
    },
    "schemas": {
        "TenantId": {
            "type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$",
            "description": "A tenant or project id: 1-64 characters of [A-Za-z0-9._-], compared byte for byte."
        },
        "Id": {
            "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$",
            "description": "A path id. Ids the gateway generates are lowercase UUIDv7 (RFC 9562)."
        },
        "TraceId": {
            "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"
        },
        "Timestamp": {
            "type": "string", "format": "date-time",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
            "description": "RFC 3339, UTC, second precision, with Z.",
            "examples": [EXAMPLE_TIME]
        },
        "ContinuationToken": {
            "type": "string", "pattern": "^[A-Za-z0-9_-]+$",
            "description": "Opaque base64url (no padding). Clients pass it back unchanged and never parse it."
        },
        "Source": {
            "type": "object",
            "description": "A job source (read-only here; written by the Orchestrator or imported). Members appear in this order.",
            "required": ["sourceId", "tenantId", "projectId", "name", "sourceType", "enabled", "paused", "pauseReason", "createdAt", "updatedAt"],
            "additionalProperties": False,
            "properties": {
                "sourceId": S("Id"),
                "tenantId": S("TenantId"),
                "projectId": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._-]{1,64}$"},
                "name": {"type": "string"},
                "sourceType": {"type": "string", "description": "A lowercase enumeration owned by the Orchestrator (registry, git, advisory, sbom, schedule, vex, policy, ...)."},
                "enabled": {"type": "boolean"},
                "paused": {"type": "boolean"},
                "pauseReason": {"type": ["string", "null"]},
                "createdAt": S("Timestamp"),
                "updatedAt": S("Timestamp")
            },
            "examples": [{
                "sourceId": "01a1878f-c79b-7293-8397-1800c6e5ff4d",
                "tenantId": "acme", "projectId": None, "name": "ecr-us-east-1",
                "sourceType": "registry", "enabled": True, "paused": False,
                "pauseReason": None, "createdAt": "2026-10-29T12:08:29Z",
                "updatedAt": "2026-10-31T00:37:14Z"
            }]
        },
        "SourceList": {
            "type": "object",
            "description": "A page of sources in (name, sourceId) ascending order, compared by bytes.",
            "required": ["items", "continuationToken"],
            "additionalProperties": False,
            "properties": {
                "items": {"type": "array", "items": S("Source"), "maxItems": 200},
                "continuationToken": {
                    "oneOf": [S("ContinuationToken"), {"type": "null"}],
                    "description": "Pass as continuationToken to get the next page; null on the last page."
                }
            }
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "additionalProperties": False,
            "properties": {"status": {"type": "string", "const": "ok"}}
        },
        "ErrorCode": {
            "type": "string",
            "description": "Stable API error codes; x-error-codes at the top of this document gives each one's HTTP status.",
            "enum": [c for c, _ in CODES]
        },
        "ErrorDetail": {
            "type": "object",
            "description": "One entry per offending input: `pointer` (an RFC 6901 JSON pointer into the body) for body members, `parameter` (its name) for query parameters.",
            "required": ["message"],
            "additionalProperties": False,
            "properties": {
                "pointer": {"type": "string", "examples": ["/maxActive"]},
                "parameter": {"type": "string", "examples": ["enabled"]},
                "message": {"type": "string"}
            },
            "oneOf": [{"required": ["pointer"]}, {"required": ["parameter"]}]
        },
        "Error": {
            "type": "object",
            "description": "The Stella Ops platform error envelope. Sent with Content-Type application/json and Cache-Control no-store; never echoes a token or its claims.",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "trace_id"],
                    "additionalProperties": False,
                    "properties": {
                        "code": S("ErrorCode"),
                        "message": {"type": "string", "description": "Human-readable; not stable, do not parse."},
                        "trace_id": S("TraceId"),
                        "details": {"type": "array", "minItems": 1, "items": S("ErrorDetail"), "description": "Present only when it has entries."}
                    }
                }
            },
            "examples": [{"error": {"code": "ERR_SOURCE_NOT_FOUND", "message": "source not found", "trace_id": "01JDM4W3Y2T0R9Q8P7N6M5K4J3"}},
                         {"error": {"code": "ERR_INVALID_QUERY", "message": "invalid value for query parameter enabled", "trace_id": "01JDM4W3Y2T0R9Q8P7N6M5K4J3", "details": [{"parameter": "enabled", "message": "invalid value for query parameter enabled"}]}}]
        }
    }
}

OK_HEADERS = {"ETag": H("ETag"), "Cache-Control": H("CacheControl"),
              "Vary": H("Vary"), "X-Stella-Trace-Id": H("XStellaTraceId")}


def error_response(status, codes, head):
    """A response for one status listing the codes an operation can give."""
    for c in codes:
        assert STATUS[c] == status, (c, status)
    desc = "One of " + ", ".join("`%s`" % c for c in codes) + \
        " (x-error-codes and docs/errors.md say when each happens)."
    hdrs = {"Cache-Control": H("CacheControlNoStore"),
            "X-Stella-Trace-Id": H("XStellaTraceId")}
    if status == 401 or "ERR_SCOPE_MISMATCH" in codes:
        hdrs["WWW-Authenticate"] = H("WWWAuthenticate")
    if status == 405:
        hdrs["Allow"] = H("Allow")
    if status == 503:
        hdrs["Retry-After"] = H("RetryAfter")
    r = {"description": desc, "headers": hdrs, "x-error-codes": codes}
    if not head:
        r["content"] = {"application/json": {"schema": {
            "allOf": [S("Error")],
            "properties": {"error": {"properties": {"code": {"enum": codes}}}}
        }}}
    return r


def op(op_id, summary, desc, tag, scope, params, ok_schema, codes, head,
       no_store=False, etag=None):
    hdrs = dict(OK_HEADERS)
    if no_store:
        hdrs["Cache-Control"] = H("CacheControlNoStore")
    if etag is not None:
        hdrs["ETag"] = etag
    ok = {"description": summary if not head else
          "As GET, without a body: the same status and headers.",
          "headers": hdrs}
    if not head:
        ok["content"] = {"application/json": {"schema": ok_schema}}
    responses = {"200": ok}
    responses["304"] = {
        "description": "If-None-Match matched the current ETag: no body; the same ETag, Cache-Control and Vary.",
        "headers": hdrs}
    by_status = {}
    for c in codes:
        by_status.setdefault(STATUS[c], []).append(c)
    for st in sorted(by_status):
        responses[str(st)] = error_response(st, by_status[st], head)
    o = {
        "operationId": op_id + ("Head" if head else ""),
        "summary": ("HEAD: " if head else "") + summary,
        "description": desc,
        "tags": [tag],
        "parameters": params,
        "responses": responses,
    }
    if scope is None:
        o["security"] = []
    else:
        o["security"] = [{"bearer": [scope]}, {"dpop": [scope]}]
        o["x-required-scope"] = scope
    return o


AUTH_PARAMS = [P("XStellaTenant"), P("XStellaOpsTenant"), P("XStellaProject"),
               P("XStellaTraceId"), P("Traceparent"), P("XStellaScopes"),
               P("DPoP"), P("IfNoneMatch")]
AUTH_CODES = ["ERR_AUTHENTICATION_REQUIRED", "ERR_INVALID_TOKEN",
              "ERR_INVALID_DPOP_PROOF", "ERR_TENANT_MISMATCH",
              "ERR_SCOPE_HEADER_FORBIDDEN", "ERR_SCOPE_MISMATCH"]
COMMON = ["ERR_PAYLOAD_TOO_LARGE", "ERR_INVALID_BODY", "ERR_UNAVAILABLE",
          "ERR_INTERNAL"]


def get_head(op_id, summary, desc, tag, scope, params, schema, codes,
             no_store=False, etag=None):
    return {m: op(op_id, summary, desc, tag, scope, params, schema, codes,
                  m == "head", no_store, etag) for m in ("get", "head")}


def order(codes):
    idx = {c: i for i, (c, _) in enumerate(CODES)}
    return sorted(set(codes), key=idx.get)


OTHER = ("Any other method: 405 ERR_METHOD_NOT_ALLOWED with `Allow: GET, HEAD`. "
         "A path that is no route: 404 ERR_ROUTE_NOT_FOUND.")

BASE_PATHS = {
    "/jobengine/sources": dict(
        description="Job sources of the tenant. Served by jobengine-sources. " + OTHER,
        **get_head(
            "listSources", "List job sources",
            "Sources of the caller's tenant (and of X-Stella-Project, if sent), in (name, sourceId) ascending byte order, filtered by sourceType and enabled, keyset-paginated: page N costs what page 1 costs, and a full scan returns every row present throughout exactly once. Requires scope orch:read.",
            "sources", "orch:read",
            [P("SourceType"), P("Enabled"), P("Limit"), P("ContinuationToken")] + AUTH_PARAMS,
            S("SourceList"),
            order(AUTH_CODES + COMMON + ["ERR_INVALID_QUERY", "ERR_INVALID_LIMIT",
                                         "ERR_INVALID_CONTINUATION_TOKEN",
                                         "ERR_CONTINUATION_TOKEN_EXPIRED"]))),
    "/jobengine/sources/{sourceId}": dict(
        description="One job source. Served by jobengine-sources. " + OTHER,
        **get_head(
            "getSource", "Get a job source",
            "The source with this id in the caller's tenant (and project, if X-Stella-Project is sent). A source of another tenant or project is indistinguishable from a missing one: 404 ERR_SOURCE_NOT_FOUND. Takes no query parameters. Requires scope orch:read.",
            "sources", "orch:read",
            [P("SourceId")] + AUTH_PARAMS,
            S("Source"),
            order(AUTH_CODES + COMMON + ["ERR_INVALID_ID", "ERR_INVALID_QUERY",
                                         "ERR_SOURCE_NOT_FOUND"]))),
    "/jobengine/healthz": dict(
        description="Liveness and store reachability. Served by jobengine-status; no authentication, no tenant. " + OTHER,
        **get_head(
            "getHealth", "Health check",
            "200 {\"status\":\"ok\"} when the store answers a ping; 503 ERR_UNAVAILABLE with Retry-After when it does not. The 200 carries Cache-Control no-store (it is about now) with its ETag and Vary. No authentication and no tenant header; takes no query parameters.",
            "status", None,
            [P("XStellaTraceId"), P("Traceparent"), P("IfNoneMatch")],
            S("Health"),
            order(COMMON + ["ERR_INVALID_QUERY"]), no_store=True)),
    "/jobengine/openapi.json": dict(
        description="This document. Served by jobengine-status, which has it compiled in, so it always describes the running version. No authentication, no tenant. " + OTHER,
        **get_head(
            "getOpenApi", "This OpenAPI document",
            "The OpenAPI 3.1 document of this gateway version. No authentication and no tenant header; takes no query parameters.",
            "status", None,
            [P("XStellaTraceId"), P("Traceparent"), P("IfNoneMatch")],
            {"type": "object", "description": "An OpenAPI 3.1 document."},
            order(["ERR_PAYLOAD_TOO_LARGE", "ERR_INVALID_BODY", "ERR_INTERNAL",
                   "ERR_INVALID_QUERY"]))),
}

# ---------------------------------------------------------------------------
# Routes by endpoint group.  route() files a path under its group; the
# document holds the paths of the groups asked for, in GROUPS order.

ROUTES = {g: {} for g in GROUPS}


def route(group, path, description, **methods):
    assert path not in ROUTES[group], path
    ROUTES[group][path] = dict(description=description, **methods)


for _p, _v in BASE_PATHS.items():
    ROUTES["status" if _p in ("/jobengine/healthz", "/jobengine/openapi.json")
           else "sources"][_p] = _v


def other(allow):
    return ("Any other method: 405 ERR_METHOD_NOT_ALLOWED with `Allow: %s`. "
            "A path that is no route: 404 ERR_ROUTE_NOT_FOUND." % allow)


def nullable(schema):
    return {"oneOf": [schema, {"type": "null"}]}


def qstr(name, desc, example=None):
    """A free-text query filter (1-128 printable ASCII characters)."""
    p = {"name": name, "in": "query", "required": False,
         "description": desc + " 1-128 printable ASCII characters; else 400 ERR_INVALID_QUERY.",
         "schema": {"type": "string", "minLength": 1, "maxLength": 128}}
    if example is not None:
        p["example"] = example
    return p


def ctoken(filters):
    """The continuationToken parameter of a list with these filters."""
    return {
        "name": "continuationToken", "in": "query", "required": False,
        "description": "The continuationToken of the previous page, as returned. Opaque base64url, HMAC-SHA256 signed; bound to the tenant, project, route and every filter (%s), and to an expiry of pagination.token_ttl_seconds (default 86400) rounded up to the next whole hour. Tampered, foreign or mismatched: 400 ERR_INVALID_CONTINUATION_TOKEN; expired: 400 ERR_CONTINUATION_TOKEN_EXPIRED." % filters,
        "schema": S("ContinuationToken")
    }


def path_id(name, what):
    return {"name": name, "in": "path", "required": True,
            "description": "The %s's id; 1-128 characters of [A-Za-z0-9._:-], else 400 ERR_INVALID_ID." % what,
            "schema": S("Id")}


def list_of(item, order_desc):
    return {
        "type": "object",
        "description": order_desc,
        "required": ["items", "continuationToken"],
        "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "items": S(item), "maxItems": 200},
            "continuationToken": {
                "oneOf": [S("ContinuationToken"), {"type": "null"}],
                "description": "Pass as continuationToken to get the next page; null on the last page."
            }
        }
    }


def counts(names, desc):
    """An object with one integer member per name, all always present."""
    return {"type": "object", "description": desc,
            "required": list(names), "additionalProperties": False,
            "properties": {n: {"type": "integer", "minimum": 0} for n in names}}


PAGED = ["ERR_INVALID_LIMIT", "ERR_INVALID_CONTINUATION_TOKEN",
         "ERR_CONTINUATION_TOKEN_EXPIRED"]


def read_codes(*extra):
    return order(AUTH_CODES + COMMON + ["ERR_INVALID_QUERY"] + list(extra))


# --- what every mutation shares (SPEC section 6, 9, 10 Idempotency, 11) ----

components["parameters"].update({
    "XStellaOperatorReason": {
        "name": "X-Stella-Operator-Reason", "in": "header", "required": True,
        "description": "Why the operator makes this change: 1-256 bytes of UTF-8 without control characters, sent once. Goes into the audit record (and, on pause, into the quota's pauseReason). Missing or invalid: 400 ERR_OPERATOR_REASON_REQUIRED.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 256}, "example": "drain before the registry migration"
    },
    "XStellaOperatorTicket": {
        "name": "X-Stella-Operator-Ticket", "in": "header", "required": False,
        "description": "Optional change ticket: 1-128 characters of [A-Za-z0-9._:/#-], sent at most once. Goes into the audit record (and, on pause, into pauseTicket). Invalid: 400 ERR_INVALID_OPERATOR_TICKET.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:/#-]{1,128}$"}, "example": "OPS-1234"
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key", "in": "header", "required": False,
        "description": "Makes a POST safe to retry: 1-255 visible ASCII characters (0x21-0x7E), sent at most once, else 400 ERR_INVALID_IDEMPOTENCY_KEY. A 2xx answer for (tenant, key, method, path) is kept for 24 hours; a repeat with the same body bytes gets that response back byte for byte with `Idempotent-Replayed: true` and no second effect (no change, no audit record); a repeat with another body is 422 ERR_IDEMPOTENCY_KEY_REUSED; a repeat while the first is still running is 409 ERR_IDEMPOTENCY_IN_PROGRESS (with another body: 422). Only 2xx answers are kept: after any refusal (400, 404, 409, 412, 422, 503 ...) the key is released and a retry with it runs again. Kept in the store, so it holds across processes and machines. Without the header every POST acts.",
        "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}, "example": "3f6c1a9e-create-build-quota"
    },
    "IfMatch": {
        "name": "If-Match", "in": "header", "required": False,
        "description": "`*` or a list of entity tags, compared strongly (RFC 9110 section 13.1.1; a weak tag never matches) with the quota's current ETag, atomically with the write. No match: 412 ERR_PRECONDITION_FAILED and nothing changes. Without the header the write is unconditional.",
        "schema": {"type": "string"}, "example": "\"q3-Jx2bV0kq8LmN4pQ7w\""
    },
})

components["headers"].update({
    "CacheControlMutation": {
        "description": "`no-store`: a mutation's response reports a change; it is not a representation to keep.",
        "schema": {"type": "string", "const": "no-store"}
    },
    "IdempotentReplayed": {
        "description": "`true` when this response is the stored first 2xx response to the same Idempotency-Key, replayed byte for byte (status, ETag, Location and body) with no second effect. Absent otherwise; never on an error, since refusals are not kept.",
        "schema": {"type": "string", "const": "true"}
    },
})

MUT_PARAMS = [P("XStellaOperatorReason"), P("XStellaOperatorTicket"),
              P("XStellaTenant"), P("XStellaOpsTenant"), P("XStellaProject"),
              P("XStellaTraceId"), P("Traceparent"), P("XStellaScopes"),
              P("DPoP")]
PATH_IDS = ("SourceId", "QuotaId", "EntryId", "PackRunId")


def mutation(op_id, summary, desc, tag, scope, method, params, body, status,
             schema, codes, action, ok_desc, etag=False, location=None):
    """One POST, PUT or DELETE.  body: None when the route takes none, else
    (schema, required, description).  codes: the route's own; those of the
    pipeline are added here."""
    post = method == "post"
    allc = AUTH_CODES + COMMON + ["ERR_OPERATOR_REASON_REQUIRED",
                                  "ERR_INVALID_OPERATOR_TICKET",
                                  "ERR_INVALID_QUERY", "ERR_CONFLICT"] + codes
    if any(p["$ref"].endswith("/" + i) for p in params for i in PATH_IDS):
        allc.append("ERR_INVALID_ID")
    if body is not None:
        allc.append("ERR_UNSUPPORTED_MEDIA_TYPE")
    if post:
        allc += ["ERR_INVALID_IDEMPOTENCY_KEY", "ERR_IDEMPOTENCY_KEY_REUSED",
                 "ERR_IDEMPOTENCY_IN_PROGRESS"]
    hdrs = {"Cache-Control": H("CacheControlMutation"),
            "X-Stella-Trace-Id": H("XStellaTraceId")}
    if etag:
        hdrs["ETag"] = H("QuotaETag")
    if location:
        hdrs["Location"] = {"description": location, "required": True,
                            "schema": {"type": "string", "format": "uri-reference"}}
    if post:
        hdrs["Idempotent-Replayed"] = H("IdempotentReplayed")
    ok = {"description": ok_desc, "headers": hdrs}
    if schema is not None:
        ok["content"] = {"application/json": {"schema": schema}}
    responses = {str(status): ok}
    by_status = {}
    for c in order(allc):
        by_status.setdefault(STATUS[c], []).append(c)
    for st in sorted(by_status):
        responses[str(st)] = error_response(st, by_status[st], False)
    o = {
        "operationId": op_id,
        "summary": summary,
        "description": desc,
        "tags": [tag],
        "parameters": params + ([P("IdempotencyKey")] if post else []) + MUT_PARAMS,
        "responses": responses,
        "security": [{"bearer": [scope]}, {"dpop": [scope]}],
        "x-required-scope": scope,
        "x-audit-action": action,
    }
    if body is not None:
        bschema, required, bdesc = body
        o["requestBody"] = {
            "required": required,
            "description": bdesc + " Content-Type application/json (charset utf-8 optional), else 415 ERR_UNSUPPORTED_MEDIA_TYPE; at most limits.max_body_bytes (default 65536), else 413. One JSON object, depth <= 16, no duplicate or unknown members, no trailing data, every member of its exact type (\"5\" is not 5): else 400 ERR_INVALID_BODY with details pointing at each bad member.",
            "content": {"application/json": {"schema": bschema}}
        }
    return o


MUTATION_TEXT = " Needs X-Stella-Operator-Reason; runs in one transaction with its audit record (no record, no change); a refusal by the handler (its 400 body checks, 404, 409, 412, 422, 503) rolls back and is recorded on its own with its status as outcome; the response carries Cache-Control: no-store."
POST_TEXT = " Accepts Idempotency-Key."

# ===========================================================================
# quotas: jobengine-quotas, scope orch:quota (reads included)

components["parameters"].update({
    "QuotaId": path_id("quotaId", "quota"),
    "JobType": qstr("jobType", "Only rows of this jobType (exact match).", "scanner.sbom"),
    "Paused": {
        "name": "paused", "in": "query", "required": False,
        "description": "Only paused (`true`) or running (`false`) quotas. Exactly `true` or `false`; anything else is 400 ERR_INVALID_QUERY.",
        "schema": {"type": "string", "enum": ["true", "false"]}
    },
    "QuotasContinuationToken": ctoken("jobType, paused"),
})

components["headers"]["QuotaETag"] = {
    "description": "The quota's strong entity tag, derived from its id and its version (not from the body): `\"q<version>-<16 base64url characters>\"`. It changes with every change of the quota (every PUT, even one that sends the same limits, and every pause or resume that changes the pause state) and is what If-Match on PUT and DELETE is compared with; e.g. `\"q3-kP0a9Y2m7QfZr1cX\"`.",
    "schema": {"type": "string", "pattern": "^\"q[0-9]+-[A-Za-z0-9_-]{16}\"$"},
    "example": "\"q3-Jx2bV0kq8LmN4pQ7w\""
}

components["schemas"].update({
    "JobType": {
        "type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$",
        "description": "A job type: 1-64 characters, lowercase letters, digits, '.', '_', '-', starting with a letter or digit."
    },
    "Quota": {
        "type": "object",
        "description": "An admission quota for one jobType of a tenant (and project). Members appear in this order. The pause members are all null while the quota runs. version starts at 1 and grows by 1 with every change.",
        "required": ["quotaId", "tenantId", "projectId", "jobType", "maxActive", "maxPerHour", "burst", "paused", "pauseReason", "pauseTicket", "pausedAt", "pausedBy", "version", "createdAt", "updatedAt", "updatedBy"],
        "additionalProperties": False,
        "properties": {
            "quotaId": S("Id"),
            "tenantId": S("TenantId"),
            "projectId": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._-]{1,64}$"},
            "jobType": S("JobType"),
            "maxActive": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "Jobs of this type that may be leased or running at once."},
            "maxPerHour": {"type": "integer", "minimum": 1, "maximum": 10000000, "description": "Jobs that may start within any hour."},
            "burst": {"type": "integer", "minimum": 1, "maximum": 10000000, "description": "Starts that may happen at once; 1..maxPerHour."},
            "paused": {"type": "boolean"},
            "pauseReason": {"type": ["string", "null"], "description": "X-Stella-Operator-Reason of the pause."},
            "pauseTicket": {"type": ["string", "null"], "description": "X-Stella-Operator-Ticket of the pause, if one was sent."},
            "pausedAt": nullable(S("Timestamp")),
            "pausedBy": {"type": ["string", "null"], "description": "The token's sub of who paused it."},
            "version": {"type": "integer", "minimum": 1},
            "createdAt": S("Timestamp"),
            "updatedAt": S("Timestamp"),
            "updatedBy": {"type": ["string", "null"], "description": "The token's sub of the last change (null for a quota imported without one)."}
        },
        "examples": [{
            "quotaId": "019f8a31-5c2e-7b10-8e4f-3a9d2c61b7e0", "tenantId": "acme",
            "projectId": None, "jobType": "scanner.sbom", "maxActive": 20,
            "maxPerHour": 600, "burst": 20, "paused": True,
            "pauseReason": "drain before the registry migration",
            "pauseTicket": "OPS-1234", "pausedAt": "2026-11-27T09:58:45Z",
            "pausedBy": "ops@example.org", "version": 3,
            "createdAt": "2026-11-20T08:00:00Z", "updatedAt": "2026-11-27T09:58:45Z",
            "updatedBy": "ops@example.org"
        }]
    },
    "QuotaList": list_of("Quota", "A page of quotas in (jobType, quotaId) ascending order."),
    "QuotaCreate": {
        "type": "object",
        "description": "A new quota. burst defaults to maxActive, capped at maxPerHour. The quota is stamped with X-Stella-Project, if sent. Members out of range are 400 ERR_INVALID_BODY; burst > maxPerHour is 422 ERR_VALIDATION.",
        "required": ["jobType", "maxActive", "maxPerHour"],
        "additionalProperties": False,
        "properties": {
            "jobType": S("JobType"),
            "maxActive": {"type": "integer", "minimum": 1, "maximum": 100000},
            "maxPerHour": {"type": "integer", "minimum": 1, "maximum": 10000000},
            "burst": {"type": "integer", "minimum": 1, "maximum": 10000000}
        },
        "examples": [{"jobType": "scanner.sbom", "maxActive": 20, "maxPerHour": 600}]
    },
    "QuotaLimits": {
        "type": "object",
        "description": "The quota's new limits, a full replacement: an omitted burst is reset to its default (maxActive, capped at maxPerHour), not kept. Members out of range are 400 ERR_INVALID_BODY; burst > maxPerHour is 422 ERR_VALIDATION.",
        "required": ["maxActive", "maxPerHour"],
        "additionalProperties": False,
        "properties": {
            "maxActive": {"type": "integer", "minimum": 1, "maximum": 100000},
            "maxPerHour": {"type": "integer", "minimum": 1, "maximum": 10000000},
            "burst": {"type": "integer", "minimum": 1, "maximum": 10000000}
        },
        "examples": [{"maxActive": 40, "maxPerHour": 1200, "burst": 60}]
    },
    "QuotaSummaryTotals": counts(
        ["quotas", "paused", "maxActive", "active", "queued", "admittedLastHour"],
        "Over the items: how many quotas, how many of them paused, and the sums of their maxActive, active, queued and admittedLastHour."),
    "QuotaSummaryItem": {
        "type": "object",
        "description": "One quota's load, over the tenant's jobs of its jobType (and of its project, if it has one). Members appear in this order.",
        "required": ["quotaId", "jobType", "projectId", "paused", "maxActive", "maxPerHour", "burst", "active", "queued", "admittedLastHour", "tokensAvailable", "utilization", "backpressure"],
        "additionalProperties": False,
        "properties": {
            "quotaId": S("Id"),
            "jobType": S("JobType"),
            "projectId": {"type": ["string", "null"]},
            "paused": {"type": "boolean"},
            "maxActive": {"type": "integer"},
            "maxPerHour": {"type": "integer"},
            "burst": {"type": "integer"},
            "active": {"type": "integer", "minimum": 0, "description": "Jobs leased or running."},
            "queued": {"type": "integer", "minimum": 0, "description": "Jobs pending or scheduled."},
            "admittedLastHour": {"type": "integer", "minimum": 0, "description": "Jobs whose startedAt is within the last hour."},
            "tokensAvailable": {"type": "integer", "minimum": 0, "description": "max(0, min(burst, maxPerHour - admittedLastHour))."},
            "utilization": {"type": "number", "minimum": 0, "description": "active / maxActive, with at most 4 decimals (may exceed 1)."},
            "backpressure": {"type": "string", "enum": ["paused", "saturated", "elevated", "normal"], "description": "`paused` if the quota is paused; else `saturated` if active >= maxActive or tokensAvailable = 0; else `elevated` if utilization >= 0.8 or queued > maxActive; else `normal`."}
        }
    },
    "QuotaSummary": {
        "type": "object",
        "description": "Every quota of the tenant (and of X-Stella-Project, if sent) with its load, in (jobType, quotaId) order. Not paginated.",
        "required": ["totals", "items"],
        "additionalProperties": False,
        "properties": {
            "totals": S("QuotaSummaryTotals"),
            "items": {"type": "array", "items": S("QuotaSummaryItem")}
        }
    },
})

QUOTA_AUDIT = " Audit action %s, target the quota."

# --- GET, HEAD, POST /jobengine/quotas --------------------------------------
route("quotas", "/jobengine/quotas",
      "Quotas of the tenant. Served by jobengine-quotas. " + other("GET, HEAD, POST"),
      **get_head(
          "listQuotas", "List quotas",
          "Quotas of the caller's tenant (and of X-Stella-Project, if sent), in (jobType, quotaId) ascending byte order, filtered by jobType and paused, keyset-paginated. Requires scope orch:quota.",
          "quotas", "orch:quota",
          [P("JobType"), P("Paused"), P("Limit"), P("QuotasContinuationToken")] + AUTH_PARAMS,
          S("QuotaList"), read_codes(*PAGED)),
      post=mutation(
          "createQuota", "Create a quota",
          "Creates the quota of a jobType for the caller's tenant, stamped with X-Stella-Project if sent. A quota for the same (tenant, project, jobType) already exists: 409 ERR_QUOTA_EXISTS; burst > maxPerHour: 422 ERR_VALIDATION. The new quota has version 1. Requires scope orch:quota." + MUTATION_TEXT + POST_TEXT + QUOTA_AUDIT % "quota.create",
          "quotas", "orch:quota", "post", [], (S("QuotaCreate"), True, "The new quota."),
          201, S("Quota"), ["ERR_VALIDATION", "ERR_QUOTA_EXISTS"], "quota.create",
          "Created: the new quota, its ETag and its Location.", etag=True,
          location="The new quota's absolute path, /jobengine/quotas/{quotaId}, to resolve against the request URL (RFC 9110 section 10.2.2)."))

# --- GET, HEAD /jobengine/quotas/summary ------------------------------------
route("quotas", "/jobengine/quotas/summary",
      "Load and backpressure of every quota. Served by jobengine-quotas; matched before /jobengine/quotas/{quotaId}. " + other("GET, HEAD"),
      **get_head(
          "getQuotaSummary", "Quota load and backpressure",
          "Every quota of the caller's tenant (and of X-Stella-Project, if sent) in (jobType, quotaId) order with its current load (active, queued, admitted in the last hour, tokens left, utilization, backpressure) and the totals. Computed from maintained job counts, so its cost does not grow with the number of jobs. Not paginated; takes no query parameters. Requires scope orch:quota.",
          "quotas", "orch:quota", AUTH_PARAMS, S("QuotaSummary"), read_codes()))

# --- GET, HEAD, PUT, DELETE /jobengine/quotas/{quotaId} ---------------------
route("quotas", "/jobengine/quotas/{quotaId}",
      "One quota. Served by jobengine-quotas. " + other("GET, HEAD, PUT, DELETE"),
      **get_head(
          "getQuota", "Get a quota",
          "The quota with this id in the caller's tenant (and project, if X-Stella-Project is sent); another tenant's quota is indistinguishable from a missing one: 404 ERR_QUOTA_NOT_FOUND. Its ETag derives from its version, for If-Match on PUT and DELETE. Takes no query parameters. Requires scope orch:quota.",
          "quotas", "orch:quota", [P("QuotaId")] + AUTH_PARAMS, S("Quota"),
          read_codes("ERR_INVALID_ID", "ERR_QUOTA_NOT_FOUND"), etag=H("QuotaETag")),
      put=mutation(
          "updateQuota", "Replace a quota's limits",
          "Replaces maxActive, maxPerHour and burst (an omitted burst goes back to its default); jobType, project and pause state stay. Every PUT bumps the version, even one that sends the limits the quota already has: version + 1, updatedAt and updatedBy are set. If-Match, when sent, must match the current ETag, checked atomically with the write: else 412 ERR_PRECONDITION_FAILED. Missing: 404 ERR_QUOTA_NOT_FOUND (whatever If-Match says); burst > maxPerHour: 422 ERR_VALIDATION. Requires scope orch:quota." + MUTATION_TEXT + QUOTA_AUDIT % "quota.update",
          "quotas", "orch:quota", "put", [P("QuotaId"), P("IfMatch")],
          (S("QuotaLimits"), True, "The quota's new limits."),
          200, S("Quota"), ["ERR_VALIDATION", "ERR_PRECONDITION_FAILED", "ERR_QUOTA_NOT_FOUND"],
          "quota.update", "The quota as it is now, with its new ETag.", etag=True),
      delete=mutation(
          "deleteQuota", "Delete a quota",
          "Deletes the quota. If-Match, when sent, must match the current ETag, checked atomically with the delete: else 412 ERR_PRECONDITION_FAILED. Missing: 404 ERR_QUOTA_NOT_FOUND (so a second DELETE is a 404). Requires scope orch:quota." + MUTATION_TEXT + QUOTA_AUDIT % "quota.delete",
          "quotas", "orch:quota", "delete", [P("QuotaId"), P("IfMatch")], None,
          204, None, ["ERR_PRECONDITION_FAILED", "ERR_QUOTA_NOT_FOUND"],
          "quota.delete", "Deleted; no body."))

# --- POST /jobengine/quotas/{quotaId}/pause ---------------------------------
route("quotas", "/jobengine/quotas/{quotaId}/pause",
      "Pause a quota. Served by jobengine-quotas. " + other("POST"),
      post=mutation(
          "pauseQuota", "Pause a quota",
          "Pauses the quota: paused true, pauseReason from X-Stella-Operator-Reason, pauseTicket from X-Stella-Operator-Ticket (null without one), pausedAt now, pausedBy the token's sub; version + 1. Pausing a paused quota is a no-op 200 with the quota unchanged (same version, ETag and pause members), and is still audited. Takes no body and no If-Match (one sent is ignored: pause is not conditional). Missing: 404 ERR_QUOTA_NOT_FOUND. Requires scope orch:quota." + MUTATION_TEXT + POST_TEXT + QUOTA_AUDIT % "quota.pause",
          "quotas", "orch:quota", "post", [P("QuotaId")], None,
          200, S("Quota"), ["ERR_QUOTA_NOT_FOUND"], "quota.pause",
          "The quota as it is now, with its ETag.", etag=True))

# --- POST /jobengine/quotas/{quotaId}/resume --------------------------------
route("quotas", "/jobengine/quotas/{quotaId}/resume",
      "Resume a quota. Served by jobengine-quotas. " + other("POST"),
      post=mutation(
          "resumeQuota", "Resume a quota",
          "Resumes the quota: paused false and pauseReason, pauseTicket, pausedAt, pausedBy null; version + 1. Resuming a running quota is a no-op 200 with the quota unchanged (same version and ETag), and is still audited. Takes no body and no If-Match (one sent is ignored: resume is not conditional). Missing: 404 ERR_QUOTA_NOT_FOUND. Requires scope orch:quota." + MUTATION_TEXT + POST_TEXT + QUOTA_AUDIT % "quota.resume",
          "quotas", "orch:quota", "post", [P("QuotaId")], None,
          200, S("Quota"), ["ERR_QUOTA_NOT_FOUND"], "quota.resume",
          "The quota as it is now, with its ETag.", etag=True))

# ===========================================================================
# jobs: jobengine-jobs, scope orch:read

JOB_STATUSES = ["pending", "scheduled", "leased", "running", "succeeded",
                "failed", "canceled", "timed_out"]

components["parameters"]["SourceIdFilter"] = qstr(
    "sourceId", "Only rows of this sourceId (exact match).", "01a1878f-c79b-7293-8397-1800c6e5ff4d")

components["schemas"].update({
    "JobStatusCounts": counts(JOB_STATUSES, "The number of jobs in each status; all eight statuses are always present, in this order."),
    "JobsSummary": {
        "type": "object",
        "description": "Job counts of the tenant (and of X-Stella-Project, if sent), filtered by jobType and sourceId. byJobType is in jobType order. Read from counts maintained as jobs change, so its cost does not grow with the number of jobs.",
        "required": ["total", "byStatus", "byJobType"],
        "additionalProperties": False,
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "byStatus": S("JobStatusCounts"),
            "byJobType": {"type": "array", "items": {
                "type": "object",
                "required": ["jobType", "total", "byStatus"],
                "additionalProperties": False,
                "properties": {
                    "jobType": {"type": "string"},
                    "total": {"type": "integer", "minimum": 0},
                    "byStatus": S("JobStatusCounts")
                }
            }}
        },
        "examples": [{"total": 3, "byStatus": {"pending": 1, "scheduled": 0, "leased": 0, "running": 1, "succeeded": 1, "failed": 0, "canceled": 0, "timed_out": 0},
                      "byJobType": [{"jobType": "scanner.sbom", "total": 3, "byStatus": {"pending": 1, "scheduled": 0, "leased": 0, "running": 1, "succeeded": 1, "failed": 0, "canceled": 0, "timed_out": 0}}]}]
    },
})

# --- GET, HEAD /jobengine/jobs/summary --------------------------------------
route("jobs", "/jobengine/jobs/summary",
      "Job counts. Served by jobengine-jobs. " + other("GET, HEAD"),
      **get_head(
          "getJobsSummary", "Job counts by status and jobType",
          "Counts of the caller's tenant's jobs (and of X-Stella-Project, if sent), optionally of one jobType and one sourceId, by status and by jobType. Not paginated. Requires scope orch:read.",
          "jobs", "orch:read", [P("JobType"), P("SourceIdFilter")] + AUTH_PARAMS,
          S("JobsSummary"), read_codes()))

# ===========================================================================
# deadletter: jobengine-deadletter; reads orch:operate, replays orch:backfill

DL_STATUSES = ["pending", "replayed", "resolved", "discarded"]

components["parameters"].update({
    "EntryId": path_id("entryId", "deadletter entry"),
    "DeadletterStatus": {
        "name": "status", "in": "query", "required": False,
        "description": "Only entries in this status; anything else is 400 ERR_INVALID_QUERY.",
        "schema": {"type": "string", "enum": DL_STATUSES}
    },
    "DeadletterContinuationToken": ctoken("jobType, sourceId, status"),
})

REPLAYED = {
    "type": "object",
    "required": ["entryId", "outcome", "replayJobId"],
    "additionalProperties": False,
    "properties": {
        "entryId": S("Id"),
        "outcome": {"type": "string", "const": "replayed"},
        "replayJobId": S("Id")
    }
}
FAILED = {
    "type": "object",
    "required": ["entryId", "outcome", "error"],
    "additionalProperties": False,
    "properties": {
        "entryId": S("Id"),
        "outcome": {"type": "string", "const": "failed"},
        "error": {
            "type": "object", "required": ["code", "message"], "additionalProperties": False,
            "properties": {"code": S("ErrorCode"), "message": {"type": "string"}},
            "description": "Why this entry was not replayed: ERR_DEADLETTER_NOT_FOUND, ERR_DEADLETTER_NOT_RETRYABLE or ERR_DEADLETTER_NOT_PENDING (ERR_CONFLICT or ERR_UNAVAILABLE when the store refused this entry's transaction)."
        }
    }
}
WOULD = {
    "type": "object",
    "required": ["entryId", "outcome"],
    "additionalProperties": False,
    "properties": {
        "entryId": S("Id"),
        "outcome": {"type": "string", "const": "wouldReplay"}
    },
    "description": "Dry run only: this entry would be replayed."
}

components["schemas"].update({
    "DeadletterStatusCounts": counts(DL_STATUSES, "The number of entries in each status; all four are always present, in this order."),
    "DeadletterStats": {
        "type": "object",
        "description": "Deadletter statistics of the tenant (and of X-Stella-Project, if sent), filtered by jobType and sourceId. Members appear in this order.",
        "required": ["total", "byStatus", "retryable", "oldestPendingFailedAt", "newestFailedAt", "byCategory", "topErrors"],
        "additionalProperties": False,
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "byStatus": S("DeadletterStatusCounts"),
            "retryable": {"type": "integer", "minimum": 0, "description": "Entries that are pending and retryable."},
            "oldestPendingFailedAt": nullable(S("Timestamp")),
            "newestFailedAt": nullable(S("Timestamp")),
            "byCategory": {"type": "array", "description": "Every category, in category order, with its number of entries.", "items": {
                "type": "object", "required": ["category", "count"], "additionalProperties": False,
                "properties": {"category": {"type": "string"}, "count": {"type": "integer", "minimum": 1}}
            }},
            "topErrors": {"type": "array", "maxItems": 10, "description": "The 10 largest (category, errorCode) clusters of pending entries: count descending, then category, errorCode.", "items": {
                "type": "object",
                "required": ["category", "errorCode", "count", "retryable", "lastFailedAt", "sampleMessage"],
                "additionalProperties": False,
                "properties": {
                    "category": {"type": "string"},
                    "errorCode": {"type": "string"},
                    "count": {"type": "integer", "minimum": 1, "description": "Pending entries in the cluster."},
                    "retryable": {"type": "integer", "minimum": 0, "description": "A count, not a boolean: how many of the cluster's pending entries are retryable."},
                    "lastFailedAt": S("Timestamp"),
                    "sampleMessage": {"type": "string", "description": "The message of the cluster's most recent entry."}
                }
            }}
        }
    },
    "DeadletterGroup": {
        "type": "object",
        "description": "The entries of one (category, errorCode), after the filters. Members appear in this order.",
        "required": ["category", "errorCode", "count", "pending", "retryable", "replayed", "jobTypes", "oldestFailedAt", "newestFailedAt"],
        "additionalProperties": False,
        "properties": {
            "category": {"type": "string"},
            "errorCode": {"type": "string"},
            "count": {"type": "integer", "minimum": 1},
            "pending": {"type": "integer", "minimum": 0},
            "retryable": {"type": "integer", "minimum": 0, "description": "Entries pending and retryable."},
            "replayed": {"type": "integer", "minimum": 0},
            "jobTypes": {"type": "array", "maxItems": 20, "items": {"type": "string"}, "description": "The distinct jobTypes of the group, sorted, at most 20."},
            "oldestFailedAt": S("Timestamp"),
            "newestFailedAt": S("Timestamp")
        }
    },
    "DeadletterSummary": list_of("DeadletterGroup", "A page of deadletter groups in (category, errorCode) ascending order."),
    "DeadletterReplayRequest": {
        "type": "object",
        "description": "`{}` (or no body at all) replays a pending retryable entry; `{\"force\": true}` also replays a pending entry that is not retryable.",
        "additionalProperties": False,
        "properties": {"force": {"type": "boolean", "default": False}}
    },
    "DeadletterReplay": {
        "type": "object",
        "description": "The entry after its replay, and the job that replays it.",
        "required": ["entryId", "status", "replayJobId", "replayedAt", "replayCount"],
        "additionalProperties": False,
        "properties": {
            "entryId": S("Id"),
            "status": {"type": "string", "const": "replayed"},
            "replayJobId": S("Id"),
            "replayedAt": S("Timestamp"),
            "replayCount": {"type": "integer", "minimum": 1}
        },
        "examples": [{"entryId": "019f8b02-1d4e-7a33-9c21-6b8e0f4d2a17", "status": "replayed", "replayJobId": "019f8c55-0a1b-7c2d-8e3f-4a5b6c7d8e9f", "replayedAt": "2026-11-27T09:58:45Z", "replayCount": 1}]
    },
    "DeadletterBatchRequest": {
        "type": "object",
        "description": "1-200 distinct entry ids (else 400 ERR_INVALID_BODY); force as for a single replay.",
        "required": ["entryIds"],
        "additionalProperties": False,
        "properties": {
            "entryIds": {"type": "array", "minItems": 1, "maxItems": 200, "uniqueItems": True, "items": S("Id")},
            "force": {"type": "boolean", "default": False}
        }
    },
    "DeadletterBatchResult": {
        "type": "object",
        "description": "One result per requested entry, in entryId order.",
        "required": ["requested", "replayed", "failed", "results"],
        "additionalProperties": False,
        "properties": {
            "requested": {"type": "integer", "minimum": 1},
            "replayed": {"type": "integer", "minimum": 0},
            "failed": {"type": "integer", "minimum": 0},
            "results": {"type": "array", "items": {"oneOf": [REPLAYED, FAILED]}}
        }
    },
    "DeadletterPendingRequest": {
        "type": "object",
        "description": "Which pending retryable entries to replay: every filter member is optional and they combine with AND; failedBefore and failedAfter are exclusive bounds on failedAt, and failedAfter must be earlier than failedBefore when both are given (else 422 ERR_VALIDATION at /filter/failedAfter).",
        "additionalProperties": False,
        "properties": {
            "filter": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "jobType": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"},
                    "sourceId": S("Id"),
                    "category": {"type": "string", "minLength": 1, "maxLength": 128},
                    "errorCode": {"type": "string", "minLength": 1, "maxLength": 128},
                    "failedBefore": S("Timestamp"),
                    "failedAfter": S("Timestamp")
                }
            },
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100, "description": "At most this many entries are replayed."},
            "dryRun": {"type": "boolean", "default": False, "description": "Change nothing; report what would be replayed."}
        },
        "examples": [{"filter": {"jobType": "scanner.sbom", "category": "network"}, "limit": 50, "dryRun": True}]
    },
    "DeadletterPendingResult": {
        "type": "object",
        "description": "matched: the entries this call took, oldest first (failedAt, entryId), at most limit: replayed, failed, or (dry run) would be replayed; one result each, in that order. replayed: of them, those replayed (always 0 in a dry run). remaining: the pending retryable entries matching the filter that this call leaves: after a real run, those still pending; after a dry run, those beyond the ones listed; null when the count could not be read after the replays had committed. Entries another process replays meanwhile are skipped, not reported. A store failure stops the run after the entry it hit (reported as failed); if no entry was taken the answer is that error instead.",
        "required": ["matched", "replayed", "remaining", "dryRun", "results"],
        "additionalProperties": False,
        "properties": {
            "matched": {"type": "integer", "minimum": 0, "maximum": 1000},
            "replayed": {"type": "integer", "minimum": 0},
            "remaining": {"type": ["integer", "null"], "minimum": 0},
            "dryRun": {"type": "boolean"},
            "results": {"type": "array", "maxItems": 1000, "items": {"oneOf": [REPLAYED, FAILED, WOULD]}}
        }
    },
})

REPLAY_TEXT = "A replay, in one transaction: a new job (same jobType, sourceId, projectId and payload; status pending, priority high, replayOf the entry's jobId), the entry becomes replayed (replayCount + 1, lastReplayJobId, replayedAt, replayedBy the token's sub), and its audit record (action deadletter.replay, target the entry)."

# --- GET, HEAD /jobengine/deadletter/stats ----------------------------------
route("deadletter", "/jobengine/deadletter/stats",
      "Deadletter statistics. Served by jobengine-deadletter. " + other("GET, HEAD"),
      **get_head(
          "getDeadletterStats", "Deadletter statistics and top error clusters",
          "Counts of the caller's tenant's deadletter entries (and of X-Stella-Project, if sent), optionally of one jobType and one sourceId: by status and category, the retryable backlog, the oldest pending and newest failures, and the 10 largest clusters of pending entries. Not paginated. Requires scope orch:operate.",
          "deadletter", "orch:operate", [P("JobType"), P("SourceIdFilter")] + AUTH_PARAMS,
          S("DeadletterStats"), read_codes()))

# --- GET, HEAD /jobengine/deadletter/summary --------------------------------
route("deadletter", "/jobengine/deadletter/summary",
      "Deadletter entries grouped by category and error code. Served by jobengine-deadletter. " + other("GET, HEAD"),
      **get_head(
          "getDeadletterSummary", "Deadletter groups by (category, errorCode)",
          "The caller's tenant's deadletter entries (and of X-Stella-Project, if sent), filtered by jobType, sourceId and status, grouped by (category, errorCode) in ascending byte order, keyset-paginated by group. Requires scope orch:operate.",
          "deadletter", "orch:operate",
          [P("JobType"), P("SourceIdFilter"), P("DeadletterStatus"), P("Limit"), P("DeadletterContinuationToken")] + AUTH_PARAMS,
          S("DeadletterSummary"), read_codes(*PAGED)))

# --- POST /jobengine/deadletter/{entryId}/replay ----------------------------
route("deadletter", "/jobengine/deadletter/{entryId}/replay",
      "Replay one deadletter entry. Served by jobengine-deadletter. " + other("POST"),
      post=mutation(
          "replayDeadletterEntry", "Replay a deadletter entry",
          "Allowed when the entry is pending and retryable, or pending and force is true. " + REPLAY_TEXT + " Not retryable (without force): 409 ERR_DEADLETTER_NOT_RETRYABLE; not pending: 409 ERR_DEADLETTER_NOT_PENDING; missing: 404 ERR_DEADLETTER_NOT_FOUND. Requires scope orch:backfill." + MUTATION_TEXT + POST_TEXT,
          "deadletter", "orch:backfill", "post", [P("EntryId")],
          (S("DeadletterReplayRequest"), False, "`{}` or `{\"force\": true}`; an empty body reads as `{}`."),
          202, S("DeadletterReplay"),
          ["ERR_DEADLETTER_NOT_FOUND", "ERR_DEADLETTER_NOT_RETRYABLE", "ERR_DEADLETTER_NOT_PENDING"],
          "deadletter.replay", "Accepted: the replay job is queued."))

# --- POST /jobengine/deadletter/replay/batch --------------------------------
route("deadletter", "/jobengine/deadletter/replay/batch",
      "Replay a list of deadletter entries. Served by jobengine-deadletter. " + other("POST"),
      post=mutation(
          "replayDeadletterBatch", "Replay deadletter entries by id",
          "Replays each listed entry as a single replay would, each in its own transaction with its own audit record (action deadletter.replay, target the entry, outcome 202), in entryId byte order whatever the order of the request. An entry that is refused changes nothing and gets no record of its own; a refusal of the whole request (400 body, 503) is recorded once as deadletter.replay_batch with a null targetId. An entry that cannot be replayed does not stop the others: it is reported with outcome failed and the code a single replay would give. The answer is 200 whatever the outcomes. Requires scope orch:backfill." + MUTATION_TEXT.replace("runs in one transaction with its audit record (no record, no change)", "each replay commits with its audit record") + POST_TEXT,
          "deadletter", "orch:backfill", "post", [],
          (S("DeadletterBatchRequest"), True, "The entries to replay."),
          200, S("DeadletterBatchResult"), [], "deadletter.replay_batch",
          "Each entry's outcome."))

# --- POST /jobengine/deadletter/replay/pending ------------------------------
route("deadletter", "/jobengine/deadletter/replay/pending",
      "Replay pending deadletter entries by filter. Served by jobengine-deadletter. " + other("POST"),
      post=mutation(
          "replayDeadletterPending", "Replay pending entries by filter",
          "Replays up to limit (default 100) pending retryable entries of the caller's tenant (and of X-Stella-Project, if sent) that match the filter, oldest first (failedAt, entryId), each as a single replay would, in its own transaction with its own audit record (action deadletter.replay, target the entry, outcome 202). With dryRun true nothing changes (no job, no entry change, no audit record) and each result is `{\"entryId\", \"outcome\": \"wouldReplay\"}`. filter.failedAfter not earlier than filter.failedBefore: 422 ERR_VALIDATION. A refusal of the whole request (400, 422, 503) is recorded once as deadletter.replay_pending with a null targetId. Requires scope orch:backfill." + MUTATION_TEXT.replace("runs in one transaction with its audit record (no record, no change)", "each replay commits with its audit record") + POST_TEXT,
          "deadletter", "orch:backfill", "post", [],
          (S("DeadletterPendingRequest"), False, "The filter, limit and dryRun, all optional; an empty body reads as `{}`."),
          200, S("DeadletterPendingResult"), ["ERR_VALIDATION"], "deadletter.replay_pending",
          "What was (or, in a dry run, would be) replayed."))

# ===========================================================================
# packruns: jobengine-packruns; reads orch:read, cancel orch:operate,
# retry orch:backfill

PR_STATUSES = ["pending", "scheduled", "running", "succeeded", "failed",
               "canceled", "timed_out"]

components["parameters"].update({
    "PackRunId": path_id("packRunId", "pack run"),
    "PackRunStatus": {
        "name": "status", "in": "query", "required": False,
        "description": "Only pack runs in this status; anything else is 400 ERR_INVALID_QUERY.",
        "schema": {"type": "string", "enum": PR_STATUSES}
    },
    "PackId": qstr("packId", "Only runs of this packId (exact match).", "sbom-baseline"),
    "PackRunsContinuationToken": ctoken("status, packId"),
})

components["schemas"].update({
    "PackRun": {
        "type": "object",
        "description": "One run of a task pack. Members appear in this order.",
        "required": ["packRunId", "tenantId", "projectId", "packId", "packVersion", "status", "attempt", "retryOf", "reason", "createdAt", "startedAt", "finishedAt", "updatedAt", "canceledBy"],
        "additionalProperties": False,
        "properties": {
            "packRunId": S("Id"),
            "tenantId": S("TenantId"),
            "projectId": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._-]{1,64}$"},
            "packId": {"type": "string"},
            "packVersion": {"type": "string"},
            "status": {"type": "string", "enum": PR_STATUSES},
            "attempt": {"type": "integer", "minimum": 1, "description": "1 for a first run; a retry's is its original's + 1."},
            "retryOf": {"type": ["string", "null"], "description": "The packRunId this run retries."},
            "reason": {"type": ["string", "null"], "description": "Why the run ended as it did, e.g. `user_cancelled` after a cancel."},
            "createdAt": S("Timestamp"),
            "startedAt": nullable(S("Timestamp")),
            "finishedAt": nullable(S("Timestamp")),
            "updatedAt": S("Timestamp"),
            "canceledBy": {"type": ["string", "null"], "description": "The token's sub of who canceled it."}
        },
        "examples": [{
            "packRunId": "019f8d10-7e2a-7f41-b3c5-0d9e8f7a6b5c", "tenantId": "acme",
            "projectId": "alpha", "packId": "sbom-baseline", "packVersion": "1.4.0",
            "status": "canceled", "attempt": 1, "retryOf": None, "reason": "user_cancelled",
            "createdAt": "2026-11-27T09:50:00Z", "startedAt": "2026-11-27T09:51:02Z",
            "finishedAt": "2026-11-27T09:58:45Z", "updatedAt": "2026-11-27T09:58:45Z",
            "canceledBy": "ops@example.org"
        }]
    },
    "PackRunList": list_of("PackRun", "A page of pack runs, newest first: createdAt descending, then packRunId ascending."),
})

# --- GET, HEAD /jobengine/pack-runs -----------------------------------------
route("packruns", "/jobengine/pack-runs",
      "Pack runs of the tenant. Served by jobengine-packruns. " + other("GET, HEAD"),
      **get_head(
          "listPackRuns", "List pack runs",
          "Pack runs of the caller's tenant (and of X-Stella-Project, if sent), newest first (createdAt descending, then packRunId), filtered by status and packId, keyset-paginated. An extension of the upstream contract. Requires scope orch:read.",
          "packruns", "orch:read",
          [P("PackRunStatus"), P("PackId"), P("Limit"), P("PackRunsContinuationToken")] + AUTH_PARAMS,
          S("PackRunList"), read_codes(*PAGED)))

# --- GET, HEAD /jobengine/pack-runs/{packRunId} -----------------------------
route("packruns", "/jobengine/pack-runs/{packRunId}",
      "One pack run. Served by jobengine-packruns. " + other("GET, HEAD"),
      **get_head(
          "getPackRun", "Get a pack run",
          "The pack run with this id in the caller's tenant (and project, if X-Stella-Project is sent), or 404 ERR_PACKRUN_NOT_FOUND. An extension of the upstream contract. Takes no query parameters. Requires scope orch:read.",
          "packruns", "orch:read", [P("PackRunId")] + AUTH_PARAMS, S("PackRun"),
          read_codes("ERR_INVALID_ID", "ERR_PACKRUN_NOT_FOUND")))

# --- POST /jobengine/pack-runs/{packRunId}/cancel ---------------------------
route("packruns", "/jobengine/pack-runs/{packRunId}/cancel",
      "Cancel a pack run. Served by jobengine-packruns. " + other("POST"),
      post=mutation(
          "cancelPackRun", "Cancel a pack run",
          "From pending, scheduled or running: status canceled, reason user_cancelled, finishedAt now, canceledBy the token's sub. Already canceled: 200 with the run unchanged (still audited). Succeeded, failed or timed_out: 409 ERR_PACKRUN_TERMINAL. Missing: 404 ERR_PACKRUN_NOT_FOUND. Takes no body. Requires scope orch:operate." + MUTATION_TEXT + POST_TEXT + " Audit action packRun.cancel, target type packRun, the pack run.",
          "packruns", "orch:operate", "post", [P("PackRunId")], None,
          200, S("PackRun"), ["ERR_PACKRUN_NOT_FOUND", "ERR_PACKRUN_TERMINAL"],
          "packRun.cancel", "The pack run as it is now."))

# --- POST /jobengine/pack-runs/{packRunId}/retry ----------------------------
route("packruns", "/jobengine/pack-runs/{packRunId}/retry",
      "Retry a pack run. Served by jobengine-packruns. " + other("POST"),
      post=mutation(
          "retryPackRun", "Retry a pack run",
          "From failed, canceled or timed_out: a new pack run of the same packId, packVersion and project, status pending, attempt + 1, retryOf this run; the original is unchanged. Not in those states: 409 ERR_PACKRUN_NOT_RETRYABLE; a retry of this run that is not yet terminal exists: 409 ERR_PACKRUN_RETRY_IN_PROGRESS; missing: 404 ERR_PACKRUN_NOT_FOUND. Takes no body. Requires scope orch:backfill." + MUTATION_TEXT + POST_TEXT + " Audit action packRun.retry, target type packRun, the original pack run (the one in the path); the new run names it in retryOf.",
          "packruns", "orch:backfill", "post", [P("PackRunId")], None,
          201, S("PackRun"), ["ERR_PACKRUN_NOT_FOUND", "ERR_PACKRUN_NOT_RETRYABLE", "ERR_PACKRUN_RETRY_IN_PROGRESS"],
          "packRun.retry", "Created: the new pack run and its Location.",
          location="The new pack run's absolute path, /jobengine/pack-runs/{packRunId}, to resolve against the request URL (RFC 9110 section 10.2.2)."))

# ===========================================================================
# audit: jobengine-audit, scope orch:operate

components["parameters"].update({
    "AuditAction": qstr("action", "Only records of this action (exact match, e.g. quota.pause).", "quota.pause"),
    "AuditTargetType": qstr("targetType", "Only records about this type of target (exact match: quota, deadletter, packRun).", "quota"),
    "AuditTargetId": qstr("targetId", "Only records about this target id (exact match)."),
    "Since": {
        "name": "since", "in": "query", "required": False,
        "description": "Only records with occurredAt at or after this time: RFC 3339, UTC, second precision, with Z. Anything else is 400 ERR_INVALID_QUERY.",
        "schema": S("Timestamp")
    },
    "AuditContinuationToken": ctoken("action, targetType, targetId, since"),
})

components["schemas"].update({
    "AuditRecord": {
        "type": "object",
        "description": "One audited mutation (SPEC section 11), written in the same transaction as its change (a refusal by the handler: in a transaction of its own). Members appear in this order.",
        "required": ["seq", "occurredAt", "tenantId", "projectId", "actor", "clientId", "scopes", "action", "targetType", "targetId", "reason", "ticket", "traceId", "idempotencyKey", "outcome", "hash"],
        "additionalProperties": False,
        "properties": {
            "seq": {"type": "integer", "minimum": 1, "description": "Grows with every record of the store; a tenant's records are a subsequence."},
            "occurredAt": S("Timestamp"),
            "tenantId": S("TenantId"),
            "projectId": {"type": ["string", "null"], "description": "X-Stella-Project of the request, or null."},
            "actor": {"type": "string", "description": "The token's sub."},
            "clientId": {"type": ["string", "null"], "description": "The token's client_id claim, if any."},
            "scopes": {"type": "array", "items": {"type": "string"}, "description": "The granted scopes, sorted, one string each.", "examples": [["orch:quota", "orch:read"]]},
            "action": {"type": "string", "enum": ["quota.create", "quota.update", "quota.delete", "quota.pause", "quota.resume", "deadletter.replay", "deadletter.replay_batch", "deadletter.replay_pending", "packRun.cancel", "packRun.retry"], "description": "deadletter.replay is written for a single replay and for each entry a batch or pending replay replays; deadletter.replay_batch and deadletter.replay_pending only for a refusal of that whole request.", "examples": ["quota.pause"]},
            "targetType": {"type": "string", "enum": ["quota", "deadletter", "packRun"], "examples": ["quota"]},
            "targetId": {"type": ["string", "null"], "description": "The quota, entry or pack run (for packRun.retry the original run); null for a refused deadletter.replay_batch or deadletter.replay_pending, which name no single target."},
            "reason": {"type": "string", "description": "X-Stella-Operator-Reason."},
            "ticket": {"type": ["string", "null"], "description": "X-Stella-Operator-Ticket, if sent."},
            "traceId": S("TraceId"),
            "idempotencyKey": {"type": ["string", "null"]},
            "outcome": {"type": "integer", "minimum": 100, "maximum": 599, "description": "The HTTP status of the answer; 202 for each entry of a batch or pending replay. A refusal by the handler is recorded too, with its status (400 from the body checks, 404, 409, 412, 422, 503)."},
            "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "64 lowercase hex characters: HMAC-SHA256 under the server key over the previous record's hash of the same tenant and this record in canonical form: the tenant's tamper-evident chain, checked by `jobengine-admin audit verify`."}
        }
    },
    "AuditList": list_of("AuditRecord", "A page of audit records, newest first (seq descending)."),
})

# --- GET, HEAD /jobengine/audit ---------------------------------------------
route("audit", "/jobengine/audit",
      "The audit log of the tenant. Served by jobengine-audit. " + other("GET, HEAD"),
      **get_head(
          "listAudit", "List audit records",
          "Audit records of the caller's tenant (and of X-Stella-Project, if sent), newest first (seq descending), filtered by action, targetType, targetId and since, keyset-paginated. An extension of the upstream contract. Requires scope orch:operate.",
          "audit", "orch:operate",
          [P("AuditAction"), P("AuditTargetType"), P("AuditTargetId"), P("Since"), P("Limit"), P("AuditContinuationToken")] + AUTH_PARAMS,
          S("AuditList"), read_codes(*PAGED)))

# ===========================================================================
# The document: the groups asked for, the components they use, checked.

TAGS = {
    "sources": "Job sources (jobengine-sources); scope orch:read.",
    "quotas": "Admission quotas and their load (jobengine-quotas); scope orch:quota for every route, reads included.",
    "jobs": "Job counts (jobengine-jobs); scope orch:read.",
    "deadletter": "The deadletter queue (jobengine-deadletter); statistics and summary need orch:operate, replays orch:backfill.",
    "packruns": "Pack runs (jobengine-packruns); reads need orch:read, cancel orch:operate, retry orch:backfill.",
    "audit": "The tamper-evident audit log of every mutation (jobengine-audit); scope orch:operate.",
    "status": "Health and this document (jobengine-status); no authentication.",
}
MUTATING = ("quotas", "deadletter", "packruns")

PIPELINE = "Every request passes, in order: route (404/405), limits (413/415), authentication (401), tenant (400), scope (403), input (400), handler, response."
description = "FastCGI programs behind Apache 2.4 or lighttpd, one per endpoint group, implementing the Orchestrator Gateway Contract (draft v0.2) as resolved by SPEC.md. This document describes the routes of this version; docs/api.md explains the behaviour and docs/errors.md every error code.\n\n" + PIPELINE + " Every response carries X-Stella-Trace-Id. Errors use the envelope `{\"error\": {\"code\", \"message\", \"trace_id\", \"details\"?}}` with Cache-Control no-store. Every 200 to GET or HEAD carries a strong ETag, `Cache-Control: " + CACHE + "` (no-store on the health check) and `Vary: " + VARY + "`; a matching If-None-Match gives 304. HEAD is accepted wherever GET is, with the same headers and no body."
if any(g in WANT for g in MUTATING):
    description = description.replace(PIPELINE, "Every request passes, in order: route (404/405), limits (413/415), authentication (401), tenant (400), scope (403), operator headers of a mutation (400), input (400), handler (404/409/412/422), response.")
    description += "\n\nEvery POST, PUT and DELETE needs X-Stella-Operator-Reason (X-Stella-Operator-Ticket is optional), runs in one transaction with its audit record (no record, no change) and answers with Cache-Control: no-store. Every POST accepts Idempotency-Key: the first 2xx response for (tenant, key, method, path) is kept for 24 hours and a repeat with the same body gets it back byte for byte with `Idempotent-Replayed: true`; refusals are not kept. A body must be application/json. A quota's ETag derives from its version, and PUT and DELETE of a quota honour If-Match (412)."

paths = {}
for g in GROUPS:
    if g in WANT:
        paths.update(ROUTES[g])


def refs(node, found):
    """Every $ref under node, followed into the components it names."""
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r not in found:
            found.add(r)
            _, _, kind, name = r.split("/")
            refs(components[kind][name], found)
        for v in node.values():
            refs(v, found)
    elif isinstance(node, list):
        for v in node:
            refs(v, found)
    return found


# Allow is referenced by no operation (405 is described per path) but
# belongs to every document.
used = refs(paths, {"#/components/headers/Allow"})
for kind in ("parameters", "headers", "schemas"):
    for name in list(components[kind]):
        if "#/components/%s/%s" % (kind, name) not in used:
            del components[kind][name]

doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "jobengine-gateway",
        "version": "0.1.0",
        "summary": "The Stella Ops Orchestrator (JobEngine) control plane over HTTP.",
        "description": description
    },
    "servers": [{"url": "/", "description": "server.public_base_url of the deployment"}],
    "tags": [{"name": g, "description": TAGS[g]} for g in GROUPS if g in WANT],
    "paths": paths,
    "components": components,
    "x-error-codes": [{"code": c, "status": s, "description": WHEN[c]} for c, s in CODES],
}


def check(doc):
    """Structural checks of what this script promises, beyond OpenAPI."""
    comp = doc["components"]
    for r in refs(doc["paths"], set()):
        _, _, kind, name = r.split("/")
        assert name in comp.get(kind, {}), r
    ids = set()
    tags = {t["name"] for t in doc["tags"]}

    def param(p):
        if "$ref" in p:
            return comp["parameters"][p["$ref"].split("/")[-1]]
        return p

    for path, item in doc["paths"].items():
        want = set(re.findall(r"{([^}]+)}", path))
        methods = [m for m in item if m in ("get", "head", "post", "put", "delete")]
        assert methods, path
        assert ("get" in item) == ("head" in item), path
        for m in methods:
            o = item[m]
            where = "%s %s" % (m.upper(), path)
            assert o["operationId"] not in ids, where
            ids.add(o["operationId"])
            assert set(o["tags"]) <= tags, where
            ps = [param(p) for p in o["parameters"]]
            keys = [(p["in"], p["name"].lower()) for p in ps]
            assert len(keys) == len(set(keys)), where
            assert {p["name"] for p in ps if p["in"] == "path"} == want, where
            scope = o.get("x-required-scope")
            assert (o["security"] == []) == (scope is None), where
            for st, r in o["responses"].items():
                for c in r.get("x-error-codes", []):
                    assert STATUS[c] == int(st), (where, c)
                assert "X-Stella-Trace-Id" in r["headers"], (where, st)
                if int(st) >= 400:
                    assert r["headers"]["Cache-Control"] == H("CacheControlNoStore"), (where, st)
            if m in ("post", "put", "delete"):
                names = [p["name"] for p in ps]
                assert "X-Stella-Operator-Reason" in names, where
                assert ("Idempotency-Key" in names) == (m == "post"), where
                assert o.get("x-audit-action"), where
                ok = [r for st, r in o["responses"].items() if int(st) < 300]
                assert len(ok) == 1, where
                assert ok[0]["headers"]["Cache-Control"] == H("CacheControlMutation"), where
                codes = {c for r in o["responses"].values() for c in r.get("x-error-codes", [])}
                need = {"ERR_OPERATOR_REASON_REQUIRED", "ERR_INVALID_OPERATOR_TICKET",
                        "ERR_UNAVAILABLE", "ERR_INVALID_DPOP_PROOF"}
                if m == "post":
                    need |= {"ERR_INVALID_IDEMPOTENCY_KEY", "ERR_IDEMPOTENCY_KEY_REUSED",
                             "ERR_IDEMPOTENCY_IN_PROGRESS"}
                if "requestBody" in o:
                    need.add("ERR_UNSUPPORTED_MEDIA_TYPE")
                assert need <= codes, (where, need - codes)
                if "requestBody" not in o:
                    assert "ERR_UNSUPPORTED_MEDIA_TYPE" not in codes, where
    enum = comp["schemas"]["ErrorCode"]["enum"]
    assert enum == [c for c, _ in CODES]
    assert [x["code"] for x in doc["x-error-codes"]] == enum


check(doc)
out = json.dumps(doc, indent=2, ensure_ascii=True) + "\n"
try:
    from openapi_spec_validator import validate
except ImportError:
    validate = None
    print("openapi-spec-validator not installed: structural checks only",
          file=sys.stderr)
if validate is not None:
    validate(json.loads(out))
dest = args.out or root + "/docs/openapi.json"
if dest == "-":
    sys.stdout.write(out)
else:
    open(dest, "w").write(out)
print("%s: %d paths, %d codes, %d bytes" % (",".join(g for g in GROUPS if g in WANT),
                                           len(paths), len(CODES), len(out)),
      file=sys.stderr)
