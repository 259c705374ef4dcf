"""Local fakes of the platforms policybot talks to, for tests over real HTTP."""
