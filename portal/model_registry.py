"""Imports every models module so that Alembic and the ORM see all tables."""

from kyc import models as kyc_models  # noqa: F401
from portal import models  # noqa: F401
from portal.certs import models as certs_models  # noqa: F401
from portal.contracts import models as contracts_models  # noqa: F401
from portal.mypage import models as mypage_models  # noqa: F401
from portal.retention import models as retention_models  # noqa: F401
from portal.users import models as users_models  # noqa: F401
