package upstream

import "syscall"

// peekAlive looks at an idle connection without reading from it or
// blocking: nothing to read means it is still open; EOF, an error or
// unsolicited bytes mean it cannot carry a request.
func peekAlive(rc syscall.RawConn) bool {
	alive := false
	var b [1]byte
	err := rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		_ = n
		alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && alive
}
