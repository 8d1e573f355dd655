// SPDX-License-Identifier: AGPL-3.0-or-later
// The system's crypt library (libxcrypt), which verifies the bcrypt hashes of basic_auth_users.
#ifndef BOOTFSM_CCRYPT_SHIM_H
#define BOOTFSM_CCRYPT_SHIM_H

#include <crypt.h>

#endif
