"""The OpenAPI document and the app's routes agree, both ways."""

from preclinical.server.app import make_app


def app_routes(app) -> set[str]:
    found = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "*"):
            continue
        info = route.resource.get_info()
        found.add(f"{route.method} {info.get('path') or info.get('formatter')}")
    return found


async def test_every_route_is_documented_and_every_documented_route_exists(client, runtime):
    doc = await (await client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    documented = {f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method in ops}
    assert documented == app_routes(make_app(runtime))
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and op["responses"], (method, path)


async def test_every_schema_reference_resolves(client):
    doc = await (await client.get("/api/v1/openapi.json")).json()
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"].rsplit("/", 1)[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs <= set(doc["components"]["schemas"])
