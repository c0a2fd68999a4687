package h2server

import "time"

// armPeriod is how often the server's sweeper arms the route timeouts of
// the requests it finds running (reqctx's DeferTimeouts). A timeout
// longer than two periods gets its timer only if its request runs into
// a sweep, which nearly no request under a route timeout of seconds
// does; once armed it fires at its deadline, as a timer set at once
// would. Setting and stopping a timer for every request was about 1 %
// of the CPU an h2c request cost.
const armPeriod = 250 * time.Millisecond

// armTimeouts is the sweeper's visit (connset's Sweep).
func armTimeouts(conns []*conn) {
	for _, c := range conns {
		c.mu.Lock()
		for _, st := range c.streams {
			if st.handling {
				st.ctx.Arm()
			}
		}
		c.mu.Unlock()
	}
}
