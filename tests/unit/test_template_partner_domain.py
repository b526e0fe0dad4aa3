"""template.yaml's partner domain: a custom domain with mutual TLS (an S3 truststore), made
only when PartnerDomainName is set, mapped with no base path onto PartnerApi's stage (the
partner routes alone), with the strongest security policy mutual TLS allows, and PartnerApi's
execute-api endpoint turned off then (so no partner goes round the client certificate),
while the browser and webhook routes keep theirs.

The template is read as written (cfn-lint's loader); where a parameter decides the result,
the local stack's evaluator (devstack.cfn) resolves it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from devstack import cfn
from tests.template_support import load_template, of_type, resolved

PARAMETERS = (
    "PartnerDomainName",
    "PartnerDomainCertificateArn",
    "PartnerTruststoreUri",
    "PartnerTruststoreVersion",
)
DOMAIN = "partners.example.co.jp"
CERTIFICATE = (
    "arn:aws:acm:ap-northeast-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
)
TRUSTSTORE = "s3://sekisho-truststore/partners/truststore.pem"
VERSION = "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
ON = {
    "PartnerDomainName": DOMAIN,
    "PartnerDomainCertificateArn": CERTIFICATE,
    "PartnerTruststoreUri": TRUSTSTORE,
}
# Types a partner domain is made of; every one of them exists only with the domain.
DOMAIN_TYPES = ("AWS::ApiGateway::DomainName", "AWS::ApiGateway::BasePathMapping")
# API Gateway refuses its enhanced policies (SecurityPolicy_*) on a mutual TLS domain;
# TLS_1_0 is weaker than TLS_1_2.
STRONGEST_WITH_MUTUAL_TLS = "TLS_1_2"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


def condition(template: Mapping[str, Any], name: str, **overrides: str) -> bool:
    return cfn.Resolver(template, cfn.parameter_values(template, overrides)).condition(name)


def references(node: Any) -> Iterator[str]:
    """Every name a node !Refs or !GetAtts, and every ${...} of a !Sub."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                yield str(value).split(".", 1)[0]
            elif key == "Fn::GetAtt":
                yield str(value[0] if isinstance(value, list) else value).split(".", 1)[0]
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                yield from re.findall(r"\$\{([A-Za-z0-9]+)", str(text))
                yield from references(value[1:] if isinstance(value, list) else [])
            else:
                yield from references(value)


def partner_domain(resources: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    ((logical_id, domain),) = of_type(resources, "AWS::ApiGateway::DomainName").items()
    return logical_id, domain


# -- parameters and condition -------------------------------------------------------------


@pytest.mark.parametrize("name", PARAMETERS)
def test_each_partner_domain_parameter_is_an_optional_string_empty_by_default(template, name):
    parameter = template["Parameters"][name]
    assert parameter["Type"] == "String"
    assert parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], "")


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("PartnerDomainName", DOMAIN, True),
        ("PartnerDomainName", "api.sekisho.example", True),
        ("PartnerDomainName", "https://partners.example.co.jp", False),
        ("PartnerDomainName", "partners.example.co.jp/v1", False),
        ("PartnerDomainName", "*.example.co.jp", False),
        ("PartnerDomainCertificateArn", CERTIFICATE, True),
        ("PartnerDomainCertificateArn", "arn:aws:iam::123456789012:server-certificate/x", False),
        ("PartnerTruststoreUri", TRUSTSTORE, True),
        ("PartnerTruststoreUri", "https://sekisho-truststore.s3.amazonaws.com/t.pem", False),
        ("PartnerTruststoreUri", "s3://sekisho-truststore", False),
        ("PartnerTruststoreVersion", VERSION, True),
        ("PartnerTruststoreVersion", "a version", False),
    ],
)
def test_a_partner_domain_parameter_takes_only_values_of_its_kind(template, name, value, allowed):
    pattern = template["Parameters"][name]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is allowed


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [({}, False), ({"PartnerDomainName": ""}, False), (ON, True)],
    ids=["default", "empty", "set"],
)
def test_has_partner_domain_holds_exactly_when_the_domain_name_is_set(
    template, overrides, expected
):
    assert condition(template, "HasPartnerDomain", **overrides) is expected


@pytest.mark.parametrize(
    ("overrides", "holds"),
    [
        ({}, True),
        (ON, True),
        ({"PartnerDomainName": DOMAIN, "PartnerTruststoreUri": TRUSTSTORE}, False),
        ({"PartnerDomainName": DOMAIN, "PartnerDomainCertificateArn": CERTIFICATE}, False),
        ({"PartnerDomainName": DOMAIN}, False),
    ],
    ids=["no_domain", "complete", "no_certificate", "no_truststore", "domain_alone"],
)
def test_a_partner_domain_without_its_certificate_or_truststore_is_refused_before_deploying(
    template, overrides, holds
):
    resolver = cfn.Resolver(template, cfn.parameter_values(template, overrides))
    rules = template["Rules"]
    relevant = [rule for rule in rules.values() if "PartnerDomainName" in references(rule)]
    assert relevant, "a rule about PartnerDomainName"
    outcome = all(
        all(resolver.resolve(assertion["Assert"]) for assertion in rule["Assertions"])
        for rule in relevant
        if resolver.resolve(rule.get("RuleCondition", True))
    )
    assert outcome is holds


# -- resources and outputs -----------------------------------------------------------------


def test_every_partner_domain_resource_and_output_exists_only_with_the_domain(template, resources):
    domain_ids = {logical_id for kind in DOMAIN_TYPES for logical_id in of_type(resources, kind)}
    assert len(domain_ids) == 2
    # Whatever names the domain, its certificate or its truststore, or a domain resource.
    names = set(PARAMETERS) | domain_ids
    dependent = {
        logical_id
        for logical_id, resource in resources.items()
        if logical_id in domain_ids or names & set(references(resource.get("Properties")))
    }
    outputs = {
        name
        for name, output in template["Outputs"].items()
        if names & set(references(output["Value"]))
    }
    assert dependent == domain_ids
    assert len(outputs) >= 2
    for logical_id in dependent:
        assert resources[logical_id]["Condition"] == "HasPartnerDomain", logical_id
    for name in outputs:
        output = template["Outputs"][name]
        # Either the output exists only with the domain, or it names the domain only in the
        # branch the domain's condition takes (PartnerApiUrl).
        value = output["Value"]
        chosen = isinstance(value, Mapping) and value.get("Fn::If", [None])[0] == "HasPartnerDomain"
        if chosen:
            assert not names & set(references(value["Fn::If"][2])), name
        else:
            assert output["Condition"] == "HasPartnerDomain", name


def test_the_local_stack_makes_no_partner_domain_resource_by_default(template):
    resolver = cfn.Resolver(template, cfn.parameter_values(template, {}))
    assert list(cfn.resources(template, resolver, *DOMAIN_TYPES)) == []
    resolver = cfn.Resolver(template, cfn.parameter_values(template, ON))
    assert len(list(cfn.resources(template, resolver, *DOMAIN_TYPES))) == 2


def test_the_domain_is_regional_with_the_strongest_policy_mutual_tls_allows(resources):
    _, domain = partner_domain(resources)
    properties = domain["Properties"]

    assert properties["SecurityPolicy"] == STRONGEST_WITH_MUTUAL_TLS
    assert properties["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert properties["RegionalCertificateArn"] == {"Ref": "PartnerDomainCertificateArn"}
    assert properties["DomainName"] == {"Ref": "PartnerDomainName"}
    # An edge certificate would make it edge-optimized: no mutual TLS there.
    assert "CertificateArn" not in properties


@pytest.mark.parametrize(
    ("overrides", "truststore"),
    [
        (ON, {"TruststoreUri": TRUSTSTORE}),
        (
            {**ON, "PartnerTruststoreVersion": VERSION},
            {"TruststoreUri": TRUSTSTORE, "TruststoreVersion": VERSION},
        ),
    ],
    ids=["latest_version", "pinned_version"],
)
def test_mutual_tls_reads_the_truststore_the_parameters_name(
    template, resources, overrides, truststore
):
    _, domain = partner_domain(resources)
    assert resolved(template, domain["Properties"]["MutualTlsAuthentication"], **overrides) == (
        truststore
    )


def test_the_domain_maps_onto_the_partner_api_stage_with_no_base_path(resources):
    domain_id, _ = partner_domain(resources)
    ((_, mapping),) = of_type(resources, "AWS::ApiGateway::BasePathMapping").items()
    properties = mapping["Properties"]

    assert properties["DomainName"] == {"Ref": domain_id}
    # The partner routes' API alone: browsers and webhook senders never need a certificate.
    assert properties["RestApiId"] == {"Ref": "PartnerApi"}
    # SAM's stage of PartnerApi: the mapping then waits for the stage to exist.
    assert properties["Stage"] == {"Ref": "PartnerApi.Stage"}
    # The partner's @target-uri path is the route's own, as on the local stack.
    assert properties.get("BasePath", "") in ("", "(none)")


def test_an_output_names_the_domains_regional_target_for_its_dns_record(template, resources):
    domain_id, _ = partner_domain(resources)
    values = [output["Value"] for output in template["Outputs"].values()]
    assert {"Fn::GetAtt": [domain_id, "RegionalDomainName"]} in values or {
        "Fn::GetAtt": f"{domain_id}.RegionalDomainName"
    } in values


@pytest.mark.parametrize(
    ("overrides", "disabled"), [({}, False), (ON, True)], ids=["no_domain", "partner_domain"]
)
def test_the_partner_apis_execute_api_endpoint_is_off_exactly_when_the_partner_domain_is_set(
    template, resources, overrides, disabled
):
    properties = resources["PartnerApi"]["Properties"]
    assert resolved(template, properties["DisableExecuteApiEndpoint"], **overrides) is disabled


@pytest.mark.parametrize("overrides", [{}, ON], ids=["no_domain", "partner_domain"])
def test_the_browser_apis_execute_api_endpoint_is_never_turned_off(template, resources, overrides):
    # Browsers and webhook senders have no client certificate: they keep ApiUrl.
    properties = resources["Api"]["Properties"]
    assert resolved(template, properties.get("DisableExecuteApiEndpoint", False), **overrides) in (
        False,
        "false",
    )


@pytest.mark.parametrize(
    ("overrides", "url"),
    [
        ({}, "https://{api}.execute-api.ap-northeast-1.amazonaws.com/v1"),
        (ON, f"https://{DOMAIN}"),
    ],
    ids=["no_domain", "partner_domain"],
)
def test_the_partner_url_output_is_the_domain_when_set_else_the_partner_apis_stage(
    template, overrides, url
):
    value = resolved(template, template["Outputs"]["PartnerApiUrl"]["Value"], **overrides)
    api = resolved(template, {"Ref": "PartnerApi"}, **overrides)
    assert value == url.format(api=api)
