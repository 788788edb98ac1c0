"""Fixtures shared across test folders: the emulator fixtures, imported (not redefined) from their folders."""

from jde_mc_pipeline_tests.jde.conftest import (  # noqa: F401
    jde_caller,
    jde_dataset,
    jde_emulator,
    jde_emulator_factory,
)
from jde_mc_pipeline_tests.mailchimp.conftest import (  # noqa: F401
    mailchimp_api,
    mailchimp_emulator,
    mailchimp_emulator_factory,
)
