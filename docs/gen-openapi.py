#!/usr/bin/env python3
# Builds docs/openapi.json; the code list is read from lib/gateway.h.
import json, re, sys

root = sys.argv[1]
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
    "ERR_INVALID_DPOP_PROOF": "The DPoP proof (RFC 9449) is missing where required, malformed, or fails a check (typ, alg, jwk, signature, jti, htm, htu, iat, ath, cnf.jkt), or its jti was seen before, or the replay record could not be written.",
    "ERR_TENANT_MISMATCH": "X-Stella-Tenant missing, malformed or repeated, X-Stella-Tenant and X-StellaOps-Tenant both present and different, the token has no tenant claim, the header differs from the claim, or X-Stella-Project is malformed.",
    "ERR_SCOPE_HEADER_FORBIDDEN": "X-Stella-Scopes was sent while auth.allow_scope_header is false, or sent twice where it is allowed.",
    "ERR_SCOPE_MISMATCH": "The granted scopes do not include the scope the route requires.",
    "ERR_OPERATOR_REASON_REQUIRED": "A mutation without a valid X-Stella-Operator-Reason (1-256 bytes of UTF-8, no control characters).",
    "ERR_INVALID_OPERATOR_TICKET": "X-Stella-Operator-Ticket is not 1-128 characters of [A-Za-z0-9._:/#-].",
    "ERR_INVALID_ID": "A path id is not 1-128 characters of [A-Za-z0-9._:-].",
    "ERR_INVALID_QUERY": "An undocumented, repeated or malformed query parameter; details names it.",
    "ERR_INVALID_LIMIT": "limit is not an integer from 1 to 200 written in plain decimal.",
    "ERR_INVALID_BODY": "The JSON body is malformed, too deep, has duplicate or unknown members, trailing data, or a member of the wrong type; details points at it. On any route: a malformed Content-Length.",
    "ERR_INVALID_CONTINUATION_TOKEN": "The continuation token is malformed, tampered with, minted by another server key, or minted for another tenant, project, route or filter set.",
    "ERR_CONTINUATION_TOKEN_EXPIRED": "The continuation token's expiry has passed.",
    "ERR_INVALID_IDEMPOTENCY_KEY": "Idempotency-Key is not 1-255 visible ASCII characters.",
    "ERR_VALIDATION": "The body is well-formed but semantically impossible (for example burst > maxPerHour).",
    "ERR_IDEMPOTENCY_KEY_REUSED": "An Idempotency-Key already used for this tenant, method and path came with a different body.",
    "ERR_PRECONDITION_FAILED": "If-Match does not match the resource's current ETag (checked atomically with the write).",
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
    "ERR_UNAVAILABLE": "The store is unavailable or stayed busy past its timeout; nothing was written. Retry-After says when to try again.",
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
            "description": "`Authorization: DPoP <access token>` together with a `DPoP: <proof>` header (RFC 9449). OpenAPI has no DPoP scheme; this entry stands for the Authorization header's DPoP form. The access token is checked as under `bearer`; the proof must be a dpop+jwt signed with its embedded public jwk (ES256, RS256 or PS256), with htm = the method, htu = server.public_base_url + path, iat within auth.dpop_max_age_seconds, ath = base64url(SHA-256(token)), jti never seen before for that key, and, for a bound token, cnf.jkt = the RFC 7638 thumbprint of the jwk. Required when the token is bound or auth.require_dpop = true; verified whenever a DPoP header is present. The security requirement lists the scope the operation needs."
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
            "schema": {"type": "string"}
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
       no_store=False):
    hdrs = dict(OK_HEADERS)
    if no_store:
        hdrs["Cache-Control"] = H("CacheControlNoStore")
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
             no_store=False):
    return {m: op(op_id, summary, desc, tag, scope, params, schema, codes,
                  m == "head", no_store) for m in ("get", "head")}


def order(codes):
    idx = {c: i for i, (c, _) in enumerate(CODES)}
    return sorted(set(codes), key=idx.get)


OTHER = ("Any other method: 405 ERR_METHOD_NOT_ALLOWED with `Allow: GET, HEAD`. "
         "A path that is no route: 404 ERR_ROUTE_NOT_FOUND.")

paths = {
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

doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "jobengine-gateway",
        "version": "0.1.0",
        "summary": "The Stella Ops Orchestrator (JobEngine) control plane over HTTP.",
        "description": "FastCGI programs behind Apache 2.4 or lighttpd, one per endpoint group, implementing the Orchestrator Gateway Contract (draft v0.2) as resolved by SPEC.md. This document describes the routes of this version; docs/api.md explains the behaviour and docs/errors.md every error code.\n\nEvery request passes, in order: route (404/405), limits (413/415), authentication (401), tenant (400), scope (403), input (400), handler, response. Every response carries X-Stella-Trace-Id. Errors use the envelope `{\"error\": {\"code\", \"message\", \"trace_id\", \"details\"?}}` with Cache-Control no-store. Every 200 to GET or HEAD carries a strong ETag, `Cache-Control: " + CACHE + "` (no-store on the health check) and `Vary: " + VARY + "`; a matching If-None-Match gives 304. HEAD is accepted wherever GET is, with the same headers and no body."
    },
    "servers": [{"url": "/", "description": "server.public_base_url of the deployment"}],
    "tags": [
        {"name": "sources", "description": "Job sources (jobengine-sources); scope orch:read."},
        {"name": "status", "description": "Health and this document (jobengine-status); no authentication."}
    ],
    "paths": paths,
    "components": components,
    "x-error-codes": [{"code": c, "status": s, "description": WHEN[c]} for c, s in CODES],
}


out = json.dumps(doc, indent=2, ensure_ascii=True) + "\n"
open(root + "/docs/openapi.json", "w").write(out)
print("%d codes, %d bytes" % (len(CODES), len(out)))
