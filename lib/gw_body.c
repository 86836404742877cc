/*
 * gw_body.c: request bodies checked against a declarative member table
 * (SPEC §7), in the manner of kcgi's named-parameter validators.
 *
 * gw_app.c has already parsed the body strictly (UTF-8, depth, duplicate
 * names, trailing data).  Here every member is type-checked, never
 * coerced: "5" is not 5 and 5.0 is not an integer, and a member the table
 * does not name is refused.  Every bad member adds one entry to the
 * error's details, pointer first, so a client fixes a body in one round:
 *
 *	{"maxActive": "5", "colour": 1}
 *	-> 400 ERR_INVALID_BODY, details [{"pointer": "/maxActive",
 *	   "message": "must be an integer"}, {"pointer": "/colour",
 *	   "message": "unknown member"}]
 *
 * Ranges are part of the type (maxActive 1-100000 is a 400); a rule that
 * ties two members together (burst <= maxPerHour) is the caller's and a
 * 422 (GW_ERR_VALIDATION).
 */
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

/* Unknown member names are echoed in details; this many bytes at most. */
#define GW_BODY_MAXECHO	64

/* RFC 6901 §3: "~" is written "~0" and "/" is written "~1". */
static const char *
gw_body_pointer(struct gw_arena *a, const char *prefix, const char *name)
{
	struct gw_buf	 b;
	const char	*s;
	char		*out;
	size_t		 n;

	/* Cut a long name at a UTF-8 character boundary. */
	n = strlen(name);
	if (n > GW_BODY_MAXECHO) {
		n = GW_BODY_MAXECHO;
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	gw_buf_init(&b);
	gw_buf_puts(&b, prefix);
	gw_buf_putc(&b, '/');
	for (s = name; s < name + n; s++) {
		if (*s == '~')
			gw_buf_puts(&b, "~0");
		else if (*s == '/')
			gw_buf_puts(&b, "~1");
		else
			gw_buf_putc(&b, *s);
	}
	out = gw_arena_strdup(a, b.data);
	gw_buf_free(&b);
	return out;
}

static const struct gw_bmember *
gw_body_find(const struct gw_bmember *t, const char *name)
{
	for (; t->name != NULL; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* A string of min..max bytes of UTF-8 (already valid) with no control
 * characters. */
static int
gw_body_text_ok(const char *s, size_t len, int64_t min, int64_t max)
{
	size_t	 i;

	if ((int64_t)len < min || (int64_t)len > max)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
gw_body_valid_job_type(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 1 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (i > 0 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))
			continue;
		return 0;
	}
	return 1;
}

/*
 * One member's value.  Returns NULL if it fits m, else the message for
 * its details entry.
 */
static const char *
gw_body_value(struct gw_req *req, const struct gw_bmember *m,
    struct json_object *o, const char *ptr, struct gw_bval *v, int *nbad);

static int
gw_body_object(struct gw_req *req, struct json_object *obj,
    const struct gw_bmember *t, struct gw_bval *vals, const char *prefix)
{
	struct json_object_iterator	 it, end;
	const struct gw_bmember		*m;
	struct json_object		*o;
	const char			*name, *msg, *ptr;
	size_t				 i;
	int				 nbad = 0;

	for (i = 0; t[i].name != NULL; i++)
		memset(&vals[i], 0, sizeof(vals[i]));
	for (i = 0; t[i].name != NULL; i++) {
		ptr = gw_body_pointer(req->arena, prefix, t[i].name);
		if (!json_object_object_get_ex(obj, t[i].name, &o)) {
			if (t[i].flags & GW_B_REQUIRED) {
				gw_fail(req, GW_ERR_INVALID_BODY, ptr,
				    "required member missing");
				nbad++;
			}
			continue;
		}
		if (o == NULL && (t[i].flags & GW_B_NULLABLE))
			continue;
		if ((msg = gw_body_value(req, &t[i], o, ptr, &vals[i],
		    &nbad)) != NULL) {
			gw_fail(req, GW_ERR_INVALID_BODY, ptr, "%s", msg);
			nbad++;
		}
	}
	/* Members in the order the client wrote them (json-c keeps it). */
	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if ((m = gw_body_find(t, name)) != NULL)
			continue;
		gw_fail(req, GW_ERR_INVALID_BODY, gw_body_pointer(req->arena,
		    prefix, name), "unknown member");
		nbad++;
	}
	return nbad;
}

static const char *
gw_body_value(struct gw_req *req, const struct gw_bmember *m,
    struct json_object *o, const char *ptr, struct gw_bval *v, int *nbad)
{
	struct json_object	*e;
	const char		*s;
	size_t			 i, j, n, len;
	int64_t			 t;

	switch (m->type) {
	case GW_B_INT:
		/* json-c types 5.0 and 1e2 as doubles: not integers here. */
		if (!json_object_is_type(o, json_type_int))
			return "must be an integer";
		v->i = json_object_get_int64(o);
		if (v->i < m->min || v->i > m->max)
			return gw_arena_printf(req->arena, "must be an integer "
			    "from %lld to %lld", (long long)m->min,
			    (long long)m->max);
		break;
	case GW_B_BOOL:
		if (!json_object_is_type(o, json_type_boolean))
			return "must be true or false";
		v->i = json_object_get_boolean(o) ? 1 : 0;
		break;
	case GW_B_TEXT:
	case GW_B_ID:
	case GW_B_JOB_TYPE:
	case GW_B_TIME:
		if (!json_object_is_type(o, json_type_string))
			return "must be a string";
		s = json_object_get_string(o);
		len = (size_t)json_object_get_string_len(o);
		if (strlen(s) != len)
			return "must not contain NUL";
		if (m->type == GW_B_TEXT && !gw_body_text_ok(s, len, m->min,
		    m->max))
			return gw_arena_printf(req->arena, "must be %lld to "
			    "%lld bytes without control characters",
			    (long long)m->min, (long long)m->max);
		if (m->type == GW_B_ID && !gw_valid_id(s))
			return "must be 1-128 characters of [A-Za-z0-9._:-]";
		if (m->type == GW_B_JOB_TYPE && !gw_body_valid_job_type(s))
			return "must match [a-z0-9][a-z0-9._-]{0,63}";
		if (m->type == GW_B_TIME) {
			if (gw_time_parse(s, &t) == -1)
				return "must be an RFC 3339 UTC time such as "
				    "2026-11-27T09:58:45Z";
			v->i = t;
		}
		v->s = gw_arena_strdup(req->arena, s);
		break;
	case GW_B_IDS:
		if (!json_object_is_type(o, json_type_array))
			return "must be an array of ids";
		n = json_object_array_length(o);
		if ((int64_t)n < m->min || (int64_t)n > m->max)
			return gw_arena_printf(req->arena, "must hold %lld to "
			    "%lld ids", (long long)m->min, (long long)m->max);
		v->ids = gw_arena_alloc(req->arena, (n + 1) * sizeof(*v->ids));
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(o, i);
			if (!json_object_is_type(e, json_type_string) ||
			    !gw_valid_id(json_object_get_string(e)) ||
			    strlen(json_object_get_string(e)) !=
			    (size_t)json_object_get_string_len(e))
				return gw_arena_printf(req->arena, "item %zu "
				    "must be 1-128 characters of "
				    "[A-Za-z0-9._:-]", i);
			v->ids[i] = gw_arena_strdup(req->arena,
			    json_object_get_string(e));
			for (j = 0; j < i; j++)
				if (strcmp(v->ids[j], v->ids[i]) == 0)
					return gw_arena_printf(req->arena,
					    "item %zu repeats item %zu", i, j);
		}
		v->ids[n] = NULL;
		v->nids = n;
		break;
	case GW_B_OBJECT:
		if (!json_object_is_type(o, json_type_object))
			return "must be an object";
		for (n = 0; m->sub[n].name != NULL; n++)
			continue;
		v->sub = gw_arena_alloc(req->arena, (n + 1) * sizeof(*v->sub));
		/* Its members report their own details. */
		*nbad += gw_body_object(req, o, m->sub, v->sub, ptr);
		break;
	}
	v->present = 1;
	return NULL;
}

enum gw_err
gw_body_check(struct gw_req *req, const struct gw_bmember *t,
    struct gw_bval *vals)
{
	struct json_object	*empty = NULL, *obj = req->json;
	int			 nbad;

	/* No body at all reads as {}: the required members say what is
	 * missing. */
	if (obj == NULL)
		obj = empty = json_object_new_object();
	nbad = gw_body_object(req, obj, t, vals, "");
	json_object_put(empty);
	if (nbad == 0)
		return GW_OK;
	if (nbad > 1)
		gw_fail(req, GW_ERR_INVALID_BODY, NULL, "%d members of the "
		    "request body are invalid", nbad);
	return GW_ERR_INVALID_BODY;
}
