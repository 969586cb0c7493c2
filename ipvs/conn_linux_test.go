//go:build linux

package ipvs

import (
	"errors"
	"syscall"
	"testing"
)

// nlmsg builds one netlink message.
func nlmsg(typ uint16, flags uint16, seq uint32, payload []byte) []byte {
	b := native.AppendUint32(nil, uint32(nlmsgHdrLen+len(payload)))
	b = native.AppendUint16(b, typ)
	b = native.AppendUint16(b, flags)
	b = native.AppendUint32(b, seq)
	b = native.AppendUint32(b, 0)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func errnoPayload(errno syscall.Errno) []byte {
	return native.AppendUint32(nil, uint32(-int32(errno)))
}

// TestDispatch feeds the transport's reply matcher the datagrams a kernel
// sends: replies, acknowledgements, errors, dump ends, a busy dump and
// stray messages.
func TestDispatch(t *testing.T) {
	c := &conn{family: 0x20}
	var got [][]byte
	reply := func(b []byte) error { got = append(got, b); return nil }
	batch := []*request{
		{seq: 10, reply: reply},             // get with a reply and an ack
		{seq: 11},                           // write that fails
		{seq: 12, dump: true, reply: reply}, // dump: two parts, then done
		{seq: 13, dump: true},               // dump refused: busy
		{seq: 14, dump: true},               // dump refused: no buffer yet, then done
	}
	pending := len(batch)
	var d []byte
	d = append(d, nlmsg(0x20, 0, 10, []byte{1, 0, 0, 0, 0xaa})...)
	d = append(d, nlmsg(nlmsgError, 0, 10, errnoPayload(0))...)
	d = append(d, nlmsg(nlmsgError, 0, 11, errnoPayload(syscall.EEXIST))...)
	d = append(d, nlmsg(0x20, 2, 12, []byte{1, 0, 0, 0, 0xbb})...)
	d = append(d, nlmsg(0x20, 2, 99, []byte{1, 0, 0, 0, 0xcc})...) // not ours
	if err := c.dispatch(d, batch, 10, &pending); err != nil {
		t.Fatal(err)
	}
	d = nil
	d = append(d, nlmsg(0x20, 2, 12, []byte{1, 0, 0, 0, 0xdd})...)
	d = append(d, nlmsg(nlmsgDone, 2, 12, errnoPayload(0))...)
	d = append(d, nlmsg(nlmsgError, 0, 13, errnoPayload(syscall.EBUSY))...)
	d = append(d, nlmsg(nlmsgError, 0, 14, errnoPayload(syscall.ENOBUFS))...)
	if err := c.dispatch(d, batch, 10, &pending); err != nil {
		t.Fatal(err)
	}
	if pending != 1 || batch[4].done {
		t.Fatalf("pending %d, ENOBUFS dump done=%v", pending, batch[4].done)
	}
	if err := c.dispatch(nlmsg(nlmsgDone, 2, 14, errnoPayload(0)), batch, 10, &pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Errorf("pending %d", pending)
	}
	if batch[0].err != nil || !errors.Is(batch[1].err, syscall.EEXIST) || batch[2].err != nil || !batch[3].busy || batch[4].err != nil {
		t.Errorf("outcomes: %v %v %v busy=%v %v", batch[0].err, batch[1].err, batch[2].err, batch[3].busy, batch[4].err)
	}
	if len(got) != 3 || got[0][0] != 0xaa || got[1][0] != 0xbb || got[2][0] != 0xdd {
		t.Errorf("replies %x", got)
	}
	// A message claiming more bytes than there are is malformed.
	bad := nlmsg(nlmsgError, 0, 10, errnoPayload(0))
	native.PutUint32(bad, 400)
	if err := c.dispatch(bad, []*request{{seq: 10}}, 10, new(int)); !errors.Is(err, ErrDecode) {
		t.Errorf("long message: %v", err)
	}
}

func TestAppendMsgFlags(t *testing.T) {
	c := &conn{family: 0x20}
	c.appendMsg(&request{cmd: cmdNewService, attrs: []byte{4, 0, 1, 0}}, false)
	c.appendMsg(&request{cmd: cmdGetDest, dump: true}, false)
	c.appendMsg(&request{cmd: cmdFlush}, true)
	var flags []uint16
	for b := c.out; len(b) >= nlmsgHdrLen; {
		l := int(native.Uint32(b))
		flags = append(flags, native.Uint16(b[6:]))
		if b[16] == 0 || b[17] != genlVersion {
			t.Errorf("genl header %x", b[16:20])
		}
		b = b[l:]
	}
	want := []uint16{nlmFRequest, nlmFRequest | nlmFDump, nlmFRequest | nlmFAck}
	if len(flags) != 3 || flags[0] != want[0] || flags[1] != want[1] || flags[2] != want[2] {
		t.Errorf("flags %#x, want %#x", flags, want)
	}
}
