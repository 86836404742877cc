/*
 * jobengine-status: the unauthenticated routes a load balancer and a
 * client generator need: a health check that reaches the store, and the
 * OpenAPI document of this build.
 */
#include "gateway.h"

/* docs/openapi.json, compiled in by the build (see Makefile.am). */
extern const char gw_openapi_json[];

static enum gw_err	status_healthz(struct gw_req *, struct gw_resp *);
static enum gw_err	status_openapi(struct gw_req *, struct gw_resp *);

static const struct gw_route routes[] = {
	{ GW_GET, "/jobengine/healthz", NULL, GW_ROUTE_PUBLIC, NULL, NULL,
	    status_healthz },
	{ GW_GET, "/jobengine/openapi.json", NULL, GW_ROUTE_PUBLIC, NULL,
	    NULL, status_openapi },
};

static enum gw_err
status_healthz(struct gw_req *req, struct gw_resp *resp)
{
	struct gw_json	*j;
	enum gw_err	 err;

	if ((err = gw_store_ping(gw_req_store(req))) != GW_OK)
		return err;
	/* A health answer is about now: never from a cache. */
	gw_resp_cache(resp, "no-store");
	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_kstr(j, "status", "ok");
	gw_json_obj_close(j);
	return GW_OK;
}

static enum gw_err
status_openapi(struct gw_req *req, struct gw_resp *resp)
{
	(void)req;
	gw_json_raw(gw_resp_json(resp), gw_openapi_json);
	return GW_OK;
}

int
main(int argc, char *argv[])
{
	static const struct gw_app_def def = {
		"jobengine-status", routes, sizeof(routes) / sizeof(routes[0])
	};

	return gw_app_main(&def, argc, argv);
}
