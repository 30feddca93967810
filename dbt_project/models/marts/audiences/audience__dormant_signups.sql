{{ cdp.audience() }}
