"""Access policy: the policy files, masking functions and the one decision function.

``load_policies`` reads ``fields.toml``, ``roles.toml`` and ``departments.toml``
from a directory into a ``PolicySet``. ``decide`` is the single enforcement point
that every read and write of personal data calls. ``explain`` and ``diff`` report
what a policy grants, for the ``vault policy`` commands.
"""

from vault.policy.decide import (
    Decision,
    Denial,
    Principal,
    Request,
    View,
    check_admin_separation,
    decide,
    department_view,
    role_view,
)
from vault.policy.explain import (
    ExplainRow,
    PolicyChange,
    diff,
    explain,
    render_diff,
    render_explain,
)
from vault.policy.loader import (
    POLICY_FILES,
    PolicyFilesInvalid,
    check_policies,
    default_policy_directory,
    load_policies,
    packaged_policy_directory,
    policy_version,
)
from vault.policy.masking import HIDDEN, MASKS, Mask, MaskContext, apply_mask, mask_fits
from vault.policy.model import (
    ACTIONS,
    ADMIN_POWERS,
    ADMIN_ROLES,
    RECORD_ACTIONS,
    WHOLE_COUNTRY,
    Department,
    FieldRule,
    Grant,
    PolicySet,
    Purpose,
    Role,
)

__all__ = [
    "ACTIONS",
    "ADMIN_POWERS",
    "ADMIN_ROLES",
    "HIDDEN",
    "MASKS",
    "POLICY_FILES",
    "RECORD_ACTIONS",
    "WHOLE_COUNTRY",
    "Decision",
    "Denial",
    "Department",
    "ExplainRow",
    "FieldRule",
    "Grant",
    "Mask",
    "MaskContext",
    "PolicyChange",
    "PolicyFilesInvalid",
    "PolicySet",
    "Principal",
    "Purpose",
    "Request",
    "Role",
    "View",
    "apply_mask",
    "check_admin_separation",
    "check_policies",
    "decide",
    "default_policy_directory",
    "department_view",
    "diff",
    "explain",
    "load_policies",
    "mask_fits",
    "packaged_policy_directory",
    "policy_version",
    "render_diff",
    "render_explain",
    "role_view",
]
