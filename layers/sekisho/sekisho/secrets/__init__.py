"""Secrets from Secrets Manager: allowlisted per function, cached, stale-if-error.

``SecretStore`` (:mod:`.store`) is the one public class; backends only fetch a
SecretString. Names are the policy's declared names; :mod:`.names` puts them under the
stack's prefix.

Nothing is re-exported here: import a name from the module that defines it, so a
module that needs only the names (``sekisho.settings``) loads neither boto3 nor requests.
"""
