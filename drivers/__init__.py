"""What drives an applied stack and measures it: the demo and the bench (chaos and load next).

Each driver works on a target (drivers.target): the local twin it starts, or a deployed
environment. Drivers build on the twin (local_twin), the build tools (tools) and, for the
in-process microbenchmarks, the shop's own code (lambda_src); nothing below imports a driver.
"""

import sys

from tools.packaging import LAMBDA_SOURCE

# The shop's modules (shop.engines for the saga's histories, the bench's in-process measures) are
# imported as the functions import them: lambda_src/ is their root on Lambda's path, not a package.
if str(LAMBDA_SOURCE) not in sys.path:
    sys.path.append(str(LAMBDA_SOURCE))
