// SPDX-License-Identifier: AGPL-3.0-or-later
// libyaml (Debian's libyaml-dev): its event parser reads the web configuration file. Swift calls it directly.
#ifndef BOOTFSM_CYAML_SHIM_H
#define BOOTFSM_CYAML_SHIM_H

#include <yaml.h>

#endif
