package ipvs

import (
	"encoding/binary"
)

// Generic netlink family, commands and attributes of IPVS, from the kernel's
// include/uapi/linux/ip_vs.h.
const (
	genlName    = "IPVS"
	genlVersion = 1
)

// Commands.
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11
	cmdSetConfig  = 12
	cmdGetConfig  = 13
	cmdSetInfo    = 14
	cmdGetInfo    = 15
	cmdZero       = 16
	cmdFlush      = 17
)

// cmdName names commands for errors.
var cmdName = map[uint8]string{
	cmdNewService: "new-service", cmdSetService: "set-service", cmdDelService: "del-service",
	cmdGetService: "get-service", cmdNewDest: "new-dest", cmdSetDest: "set-dest",
	cmdDelDest: "del-dest", cmdGetDest: "get-dest", cmdNewDaemon: "new-daemon",
	cmdDelDaemon: "del-daemon", cmdGetDaemon: "get-daemon", cmdSetConfig: "set-config",
	cmdGetConfig: "get-config", cmdGetInfo: "get-info", cmdZero: "zero", cmdFlush: "flush",
}

// Top-level attributes.
const (
	cmdAttrService       = 1
	cmdAttrDest          = 2
	cmdAttrDaemon        = 3
	cmdAttrTimeoutTCP    = 4
	cmdAttrTimeoutTCPFin = 5
	cmdAttrTimeoutUDP    = 6
)

// Service attributes.
const (
	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrStats     = 10
	svcAttrPEName    = 11
	svcAttrStats64   = 12
)

// Destination attributes.
const (
	destAttrAddr         = 1
	destAttrPort         = 2
	destAttrFwdMethod    = 3
	destAttrWeight       = 4
	destAttrUThresh      = 5
	destAttrLThresh      = 6
	destAttrActiveConns  = 7
	destAttrInactConns   = 8
	destAttrPersistConns = 9
	destAttrStats        = 10
	destAttrAddrFamily   = 11
	destAttrStats64      = 12
	destAttrTunType      = 13
	destAttrTunPort      = 14
	destAttrTunFlags     = 15
)

// Sync daemon attributes.
const (
	daemonAttrState       = 1
	daemonAttrMcastIfn    = 2
	daemonAttrSyncID      = 3
	daemonAttrSyncMaxLen  = 4
	daemonAttrMcastGroup  = 5
	daemonAttrMcastGroup6 = 6
	daemonAttrMcastPort   = 7
	daemonAttrMcastTTL    = 8
)

// Stats attributes.
const (
	statsAttrConns    = 1
	statsAttrInPkts   = 2
	statsAttrOutPkts  = 3
	statsAttrInBytes  = 4
	statsAttrOutBytes = 5
	statsAttrCPS      = 6
	statsAttrInPPS    = 7
	statsAttrOutPPS   = 8
	statsAttrInBPS    = 9
	statsAttrOutBPS   = 10
	statsAttrPad      = 11
)

// Info attributes.
const (
	infoAttrVersion     = 1
	infoAttrConnTabSize = 2
)

var native = binary.NativeEndian
