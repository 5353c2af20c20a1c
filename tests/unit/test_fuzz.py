"""Property-based tests: parsers and checks never raise anything but the
project's own errors, whatever a remote sends."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from world import AS, PRM_PATH, World, authkit_metadata, json_response, prm_document

from authkit_mcp_cli.checks.model import Status
from authkit_mcp_cli.errors import AtomsAuthError
from authkit_mcp_cli.loopback import callback_params_from_url
from authkit_mcp_cli.oauth.callback import validate_callback
from authkit_mcp_cli.oauth.registration import parse_registration_response
from authkit_mcp_cli.oauth.token import parse_token_response
from authkit_mcp_cli.urls import as_metadata_urls, prm_urls, resource_matches

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(authkit_metadata())), json_values, max_size=6), st.dictionaries(st.sampled_from(sorted(prm_document())), json_values, max_size=3))
def test_checks_never_crash_on_metadata_with_wrong_types(meta_overrides, prm_overrides):
    world = World()
    world.oauth_metadata.update(meta_overrides)
    world.oidc_metadata.update(meta_overrides)
    world.prm.update(prm_overrides)
    results = world.run(timeout=2)
    crashed = {k: r.message for k, r in results.items() if r.status is Status.ERROR}
    assert crashed == {}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300))
def test_checks_never_crash_on_any_challenge_header(header):
    world = World(challenge_header=header)
    results = world.run(timeout=2)
    assert not [k for k, r in results.items() if r.status is Status.ERROR]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_checks_never_crash_on_any_json_body(body):
    world = World()
    world.routes[("GET", PRM_PATH)] = lambda r: json_response(body)
    world.routes[("GET", f"{AS}/.well-known/oauth-authorization-server")] = lambda r: json_response(body)
    world.routes[("GET", f"{AS}/oauth2/jwks")] = lambda r: json_response(body)
    results = world.run(timeout=2)
    assert not [k for k, r in results.items() if r.status is Status.ERROR]


@given(st.dictionaries(st.sampled_from(["code", "state", "iss", "error", "error_description", "x"]), st.text(max_size=20)), st.booleans())
def test_callback_validation_raises_only_our_errors(params, advertised):
    try:
        validate_callback(params, expected_state="s", issuer="https://as.example", iss_advertised=advertised)
    except AtomsAuthError:
        pass


@given(st.text(max_size=200))
def test_pasted_callback_urls_never_raise(text):
    assert isinstance(callback_params_from_url(text), dict)


@given(st.integers(min_value=100, max_value=599), st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_token_and_registration_responses_raise_only_our_errors(status, body):
    for parse in (lambda: parse_token_response(status, body), lambda: parse_registration_response(status, body, asked_method="none")):
        try:
            parse()
        except AtomsAuthError:
            pass


@given(st.from_regex(r"https?://[a-z0-9.-]{1,20}(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,12}){0,4}/?", fullmatch=True))
def test_well_known_urls_keep_the_origin_and_insert_the_path(url):
    from urllib.parse import urlsplit

    try:
        _ = urlsplit(url).port  # raises on a port out of range
    except ValueError:
        return  # an invalid port: parse_target_url refuses it before we get here
    inserted, root = prm_urls(url)
    assert root.endswith("/.well-known/oauth-protected-resource")
    assert inserted.startswith(root)
    assert urlsplit(inserted).netloc == urlsplit(url).netloc
    for _kind, meta in as_metadata_urls(url):
        assert urlsplit(meta).netloc == urlsplit(url).netloc and "/.well-known/" in meta
    good, _ = resource_matches(url, url, allow_prefix=False)
    assert good
