"""What drives an applied stack and measures it: the demo and the bench (chaos and load next).

Each driver works on a target (drivers.target): the local twin it starts, or a deployed
environment. Drivers build on the twin (local_twin), the build tools (tools) and, for the
in-process microbenchmarks, the shop's own code (lambda_src); nothing below imports a driver.
"""
