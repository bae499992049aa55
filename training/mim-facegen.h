/* mim-facegen.h: placeholder, being written. */
#pragma once
