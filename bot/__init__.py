"""policybot core: the platform-neutral engine, store, scheduler and configuration."""
