"""The embedded signing service's development client credentials: the one
definition both sides read (the service's defaults, ``remote_signing.service.config``,
and the portal's embedded defaults, ``portal.config``). Production refuses both on
either side. A module of its own so the portal's configuration reads two strings
without loading the service."""

DEV_PORTAL_SECRET = "embedded-dev-portal-secret"
DEV_CONSOLE_SECRET = "embedded-dev-console-secret"
