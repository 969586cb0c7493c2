package ipvs

import "syscall"

var (
	errnoEEXIST = syscall.EEXIST
	errnoENOENT = syscall.ENOENT
	errnoESRCH  = syscall.ESRCH
	errnoERANGE = syscall.ERANGE
)
