package h2server

import (
	"errors"

	"golang.org/x/net/http2"
)

// streamState is a stream's state as the reading side sees it (RFC 9113
// §5.1), for deciding what a frame on it means.
type streamState int

const (
	stateIdle streamState = iota
	stateOpen
	stateHalfClosedRemote
	stateClosed
)

// state looks a stream up: its entry, if still in the table, and state.
func (c *conn) state(id uint32) (*stream, streamState) {
	c.mu.Lock()
	st := c.streams[id]
	var remoteClosed bool
	if st != nil {
		remoteClosed = st.remoteClosed
	}
	c.mu.Unlock()
	switch {
	case st != nil && remoteClosed:
		return st, stateHalfClosedRemote
	case st != nil:
		return st, stateOpen
	case id%2 == 1 && id > c.maxStreamID:
		return nil, stateIdle
	}
	return nil, stateClosed
}

// processFrame acts on one frame. A returned http2.StreamError resets
// that stream; a http2.ConnectionError ends the connection with GOAWAY.
func (c *conn) processFrame(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.HeadersFrame:
		b, err := c.hr.read(c.fr, f)
		if err != nil {
			return err
		}
		return c.processHeaders(b)
	case *http2.DataFrame:
		return c.processData(f)
	case *http2.SettingsFrame:
		return c.processSettings(f)
	case *http2.WindowUpdateFrame:
		return c.processWindowUpdate(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil // the server sends no PING of its own
		}
		c.startWrite()
		c.fr.WritePing(true, f.Data)
		return c.endWrite()
	case *http2.RSTStreamFrame:
		st, state := c.state(f.StreamID)
		if state == stateIdle {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if st != nil {
			st.abort(errStreamReset{f.ErrCode})
			c.closeStream(st, true, true)
		}
		return nil
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
		return nil // priorities are advisory (RFC 9113 §5.3.2); not used
	case *http2.GoAwayFrame:
		return nil // the client opens no more streams; ours finish
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // clients can't push
	}
	return nil // unknown frame types are ignored (RFC 9113 §5.5)
}

// errStreamReset is a stream's failure after the client reset it.
type errStreamReset struct{ code http2.ErrCode }

func (e errStreamReset) Error() string {
	return "h2server: stream reset by the client (" + e.code.String() + ")"
}

func (c *conn) processSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if f.NumSettings() > 100 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if err := f.ForeachSetting(func(s http2.Setting) error { return s.Valid() }); err != nil {
		return err
	}
	c.startWrite()
	err := f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			// The change applies to every open stream's window, which may
			// go negative (RFC 9113 §6.9.2).
			delta := int64(s.Val) - c.peerInit
			c.peerInit = int64(s.Val)
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, st := range c.streams {
				st.send += delta
				if st.send > maxWindow {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		case http2.SettingHeaderTableSize:
			c.henc.setMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	})
	if err == nil {
		c.fr.WriteSettingsAck()
		c.wcond.Broadcast()
	}
	if werr := c.endWrite(); err == nil {
		err = werr
	}
	return err
}

func (c *conn) processWindowUpdate(f *http2.WindowUpdateFrame) error {
	if f.StreamID == 0 {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if c.sendConn+int64(f.Increment) > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.sendConn += int64(f.Increment)
		c.wcond.Broadcast()
		return nil
	}
	st, state := c.state(f.StreamID)
	if state == stateIdle {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if st == nil {
		return nil // a window for a stream already closed
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if st.send+int64(f.Increment) > maxWindow {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	st.send += int64(f.Increment)
	c.wcond.Broadcast()
	return nil
}

// processData takes a DATA frame's payload into its stream's body,
// within the receive windows.
func (c *conn) processData(f *http2.DataFrame) error {
	id, size := f.StreamID, int64(f.Length)
	st, state := c.state(id)
	if state == stateIdle {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.inflow.Lock()
	if size > c.recvConn {
		c.inflow.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvConn -= size
	c.inflow.Unlock()
	if state != stateOpen || st.body == nil {
		// Not for a body being read: the bytes count against the
		// connection's window only until now.
		c.refund(nil, size)
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	data := f.Data()
	if pad := size - int64(len(data)); pad > 0 {
		c.refund(nil, pad) // padding is never read (RFC 9113 §6.1)
	}
	if err := st.body.receive(data, f.StreamEnded(), size); err != nil {
		c.refund(nil, int64(len(data)))
		return err
	}
	if f.StreamEnded() {
		c.closeStream(st, true, false)
	}
	return nil
}

// processHeaders opens a stream, or takes a stream's trailers.
func (c *conn) processHeaders(f *headerBlock) error {
	id := f.streamID
	if id%2 != 1 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if f.hasPriority && f.priority.StreamDep == id {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	st, state := c.state(id)
	switch state {
	case stateOpen:
		return c.processTrailers(st, f)
	case stateHalfClosedRemote:
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	case stateClosed:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	// A new stream.
	c.mu.Lock()
	c.maxStreamID = id
	if c.goingAway && id > c.lastID {
		c.mu.Unlock()
		return nil // beyond GOAWAY's last stream: not processed (RFC 9113 §6.8)
	}
	max := int(c.srv.maxStreams())
	switch {
	case c.open >= max:
		c.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	case c.handlers >= max:
		// Streams the client reset still have handlers running: a
		// client that resets streams as fast as it opens them (CVE-2023-44487)
		// gets no more than max handlers, and is cut when it insists.
		c.mu.Unlock()
		c.refusedByHandlers++
		if c.refusedByHandlers > 4*max {
			return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
		}
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	}
	c.mu.Unlock()
	if f.truncated {
		// The header list was over MaxHeaderBytes; the decoder dropped the
		// rest of it (and the framer bounds how much it reads).
		return c.startStream(id, f, errHeaderListTooLarge)
	}
	return c.startStream(id, f, nil)
}

var errHeaderListTooLarge = errors.New("h2server: header list too large")

func (c *conn) processTrailers(st *stream, f *headerBlock) error {
	if st.body == nil || st.gotTrailers {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	st.gotTrailers = true
	if !f.endStream || f.nPseudo > 0 {
		// Trailers end the stream and carry no pseudo-header (RFC 9113 §8.1).
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	if f.truncated {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	if err := st.body.receiveTrailers(f.regularFields()); err != nil {
		return err
	}
	c.closeStream(st, true, false)
	return nil
}
