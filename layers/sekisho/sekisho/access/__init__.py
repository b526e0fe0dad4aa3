"""Who may reach a route at all, before it reads a secret or calls kintone: its ``when:``
(the period, the hours, the networks and the claims)."""
