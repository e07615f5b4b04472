"""Every page names the portal's icon, and the portal serves it: a browser asks
for an icon on every page load, and without one each load logged a 404 (walk)."""

from __future__ import annotations

import re

from tests.conftest import PortalClient


def test_mypage_and_console_pages_name_an_icon_the_portal_serves(client: PortalClient) -> None:
    for page in ("/login", "/console/login"):
        html = client.get(page).get_data(as_text=True)
        link = re.search(r'<link rel="icon" href="([^"]+)"', html)
        assert link, page
        icon = client.get(link.group(1))
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml", page
