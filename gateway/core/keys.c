#include "core/keys.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct key {
    const char *name;
    int code;
} key;

/* Sorted by name (strcmp) for bsearch; generated from <linux/input-event-codes.h>, codes 1 to
 * 248 (the keyboard's: libvirt translates these to every other code set). */
static const key keys[] = {
    {"KEY_0", 11},
    {"KEY_1", 2},
    {"KEY_102ND", 86},
    {"KEY_2", 3},
    {"KEY_3", 4},
    {"KEY_4", 5},
    {"KEY_5", 6},
    {"KEY_6", 7},
    {"KEY_7", 8},
    {"KEY_8", 9},
    {"KEY_9", 10},
    {"KEY_A", 30},
    {"KEY_AGAIN", 129},
    {"KEY_ALL_APPLICATIONS", 204},
    {"KEY_ALTERASE", 222},
    {"KEY_APOSTROPHE", 40},
    {"KEY_B", 48},
    {"KEY_BACK", 158},
    {"KEY_BACKSLASH", 43},
    {"KEY_BACKSPACE", 14},
    {"KEY_BASSBOOST", 209},
    {"KEY_BATTERY", 236},
    {"KEY_BLUETOOTH", 237},
    {"KEY_BOOKMARKS", 156},
    {"KEY_BRIGHTNESSDOWN", 224},
    {"KEY_BRIGHTNESSUP", 225},
    {"KEY_BRIGHTNESS_AUTO", 244},
    {"KEY_BRIGHTNESS_CYCLE", 243},
    {"KEY_C", 46},
    {"KEY_CALC", 140},
    {"KEY_CAMERA", 212},
    {"KEY_CANCEL", 223},
    {"KEY_CAPSLOCK", 58},
    {"KEY_CHAT", 216},
    {"KEY_CLOSE", 206},
    {"KEY_CLOSECD", 160},
    {"KEY_COFFEE", 152},
    {"KEY_COMMA", 51},
    {"KEY_COMPOSE", 127},
    {"KEY_COMPUTER", 157},
    {"KEY_CONFIG", 171},
    {"KEY_CONNECT", 218},
    {"KEY_COPY", 133},
    {"KEY_CUT", 137},
    {"KEY_CYCLEWINDOWS", 154},
    {"KEY_D", 32},
    {"KEY_DELETE", 111},
    {"KEY_DELETEFILE", 146},
    {"KEY_DISPLAY_OFF", 245},
    {"KEY_DOCUMENTS", 235},
    {"KEY_DOT", 52},
    {"KEY_DOWN", 108},
    {"KEY_E", 18},
    {"KEY_EDIT", 176},
    {"KEY_EJECTCD", 161},
    {"KEY_EJECTCLOSECD", 162},
    {"KEY_EMAIL", 215},
    {"KEY_END", 107},
    {"KEY_ENTER", 28},
    {"KEY_EQUAL", 13},
    {"KEY_ESC", 1},
    {"KEY_EXIT", 174},
    {"KEY_F", 33},
    {"KEY_F1", 59},
    {"KEY_F10", 68},
    {"KEY_F11", 87},
    {"KEY_F12", 88},
    {"KEY_F13", 183},
    {"KEY_F14", 184},
    {"KEY_F15", 185},
    {"KEY_F16", 186},
    {"KEY_F17", 187},
    {"KEY_F18", 188},
    {"KEY_F19", 189},
    {"KEY_F2", 60},
    {"KEY_F20", 190},
    {"KEY_F21", 191},
    {"KEY_F22", 192},
    {"KEY_F23", 193},
    {"KEY_F24", 194},
    {"KEY_F3", 61},
    {"KEY_F4", 62},
    {"KEY_F5", 63},
    {"KEY_F6", 64},
    {"KEY_F7", 65},
    {"KEY_F8", 66},
    {"KEY_F9", 67},
    {"KEY_FASTFORWARD", 208},
    {"KEY_FILE", 144},
    {"KEY_FINANCE", 219},
    {"KEY_FIND", 136},
    {"KEY_FORWARD", 159},
    {"KEY_FORWARDMAIL", 233},
    {"KEY_FRONT", 132},
    {"KEY_G", 34},
    {"KEY_GRAVE", 41},
    {"KEY_H", 35},
    {"KEY_HANGEUL", 122},
    {"KEY_HANJA", 123},
    {"KEY_HELP", 138},
    {"KEY_HENKAN", 92},
    {"KEY_HIRAGANA", 91},
    {"KEY_HOME", 102},
    {"KEY_HOMEPAGE", 172},
    {"KEY_HP", 211},
    {"KEY_I", 23},
    {"KEY_INSERT", 110},
    {"KEY_ISO", 170},
    {"KEY_J", 36},
    {"KEY_K", 37},
    {"KEY_KATAKANA", 90},
    {"KEY_KATAKANAHIRAGANA", 93},
    {"KEY_KBDILLUMDOWN", 229},
    {"KEY_KBDILLUMTOGGLE", 228},
    {"KEY_KBDILLUMUP", 230},
    {"KEY_KP0", 82},
    {"KEY_KP1", 79},
    {"KEY_KP2", 80},
    {"KEY_KP3", 81},
    {"KEY_KP4", 75},
    {"KEY_KP5", 76},
    {"KEY_KP6", 77},
    {"KEY_KP7", 71},
    {"KEY_KP8", 72},
    {"KEY_KP9", 73},
    {"KEY_KPASTERISK", 55},
    {"KEY_KPCOMMA", 121},
    {"KEY_KPDOT", 83},
    {"KEY_KPENTER", 96},
    {"KEY_KPEQUAL", 117},
    {"KEY_KPJPCOMMA", 95},
    {"KEY_KPLEFTPAREN", 179},
    {"KEY_KPMINUS", 74},
    {"KEY_KPPLUS", 78},
    {"KEY_KPPLUSMINUS", 118},
    {"KEY_KPRIGHTPAREN", 180},
    {"KEY_KPSLASH", 98},
    {"KEY_L", 38},
    {"KEY_LEFT", 105},
    {"KEY_LEFTALT", 56},
    {"KEY_LEFTBRACE", 26},
    {"KEY_LEFTCTRL", 29},
    {"KEY_LEFTMETA", 125},
    {"KEY_LEFTSHIFT", 42},
    {"KEY_LINEFEED", 101},
    {"KEY_M", 50},
    {"KEY_MACRO", 112},
    {"KEY_MAIL", 155},
    {"KEY_MEDIA", 226},
    {"KEY_MENU", 139},
    {"KEY_MICMUTE", 248},
    {"KEY_MINUS", 12},
    {"KEY_MOVE", 175},
    {"KEY_MSDOS", 151},
    {"KEY_MUHENKAN", 94},
    {"KEY_MUTE", 113},
    {"KEY_N", 49},
    {"KEY_NEW", 181},
    {"KEY_NEXTSONG", 163},
    {"KEY_NUMLOCK", 69},
    {"KEY_O", 24},
    {"KEY_OPEN", 134},
    {"KEY_P", 25},
    {"KEY_PAGEDOWN", 109},
    {"KEY_PAGEUP", 104},
    {"KEY_PASTE", 135},
    {"KEY_PAUSE", 119},
    {"KEY_PAUSECD", 201},
    {"KEY_PHONE", 169},
    {"KEY_PLAY", 207},
    {"KEY_PLAYCD", 200},
    {"KEY_PLAYPAUSE", 164},
    {"KEY_POWER", 116},
    {"KEY_PREVIOUSSONG", 165},
    {"KEY_PRINT", 210},
    {"KEY_PROG1", 148},
    {"KEY_PROG2", 149},
    {"KEY_PROG3", 202},
    {"KEY_PROG4", 203},
    {"KEY_PROPS", 130},
    {"KEY_Q", 16},
    {"KEY_QUESTION", 214},
    {"KEY_R", 19},
    {"KEY_RECORD", 167},
    {"KEY_REDO", 182},
    {"KEY_REFRESH", 173},
    {"KEY_REPLY", 232},
    {"KEY_REWIND", 168},
    {"KEY_RFKILL", 247},
    {"KEY_RIGHT", 106},
    {"KEY_RIGHTALT", 100},
    {"KEY_RIGHTBRACE", 27},
    {"KEY_RIGHTCTRL", 97},
    {"KEY_RIGHTMETA", 126},
    {"KEY_RIGHTSHIFT", 54},
    {"KEY_RO", 89},
    {"KEY_ROTATE_DISPLAY", 153},
    {"KEY_S", 31},
    {"KEY_SAVE", 234},
    {"KEY_SCALE", 120},
    {"KEY_SCROLLDOWN", 178},
    {"KEY_SCROLLLOCK", 70},
    {"KEY_SCROLLUP", 177},
    {"KEY_SEARCH", 217},
    {"KEY_SEMICOLON", 39},
    {"KEY_SEND", 231},
    {"KEY_SENDFILE", 145},
    {"KEY_SETUP", 141},
    {"KEY_SHOP", 221},
    {"KEY_SLASH", 53},
    {"KEY_SLEEP", 142},
    {"KEY_SOUND", 213},
    {"KEY_SPACE", 57},
    {"KEY_SPORT", 220},
    {"KEY_STOP", 128},
    {"KEY_STOPCD", 166},
    {"KEY_SUSPEND", 205},
    {"KEY_SWITCHVIDEOMODE", 227},
    {"KEY_SYSRQ", 99},
    {"KEY_T", 20},
    {"KEY_TAB", 15},
    {"KEY_U", 22},
    {"KEY_UNDO", 131},
    {"KEY_UNKNOWN", 240},
    {"KEY_UP", 103},
    {"KEY_UWB", 239},
    {"KEY_V", 47},
    {"KEY_VIDEO_NEXT", 241},
    {"KEY_VIDEO_PREV", 242},
    {"KEY_VOLUMEDOWN", 114},
    {"KEY_VOLUMEUP", 115},
    {"KEY_W", 17},
    {"KEY_WAKEUP", 143},
    {"KEY_WLAN", 238},
    {"KEY_WWAN", 246},
    {"KEY_WWW", 150},
    {"KEY_X", 45},
    {"KEY_XFER", 147},
    {"KEY_Y", 21},
    {"KEY_YEN", 124},
    {"KEY_Z", 44},
    {"KEY_ZENKAKUHANKAKU", 85},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

enum { CODE_LEFTCTRL = 29, CODE_LEFTALT = 56, CODE_DELETE = 111, CODE_SYSRQ = 99 };

static int by_name(const void *a, const void *b)
{
    return strcmp(((const key *)a)->name, ((const key *)b)->name);
}

int gw_key_code(const char *name)
{
    key probe = {name, 0};
    const key *k = bsearch(&probe, keys, NKEYS, sizeof(keys[0]), by_name);
    return k ? k->code : -1;
}

/* `ctrl-alt-del` and `sysrq-<x>` as the keys pressed; 0 when name is no shortcut. */
static int shortcut(const char *name, int *codes, int *count, vg_err *err)
{
    if (!strcmp(name, "ctrl-alt-del")) {
        codes[0] = CODE_LEFTCTRL, codes[1] = CODE_LEFTALT, codes[2] = CODE_DELETE;
        *count = 3;
        return 1;
    }
    if (!strncmp(name, "sysrq-", 6)) {
        char kname[8];
        int ok = strlen(name) == 7 && isalnum((unsigned char)name[6]) &&
                 !isupper((unsigned char)name[6]);
        if (ok)
            snprintf(kname, sizeof(kname), "KEY_%c", toupper((unsigned char)name[6]));
        if (!ok || gw_key_code(kname) < 0) {
            vg_fail(err, VG_E_BAD_REQUEST,
                    "keys: \"%.40s\" is no SysRq key (sysrq- takes one lower-case letter or digit)",
                    name);
            return -1;
        }
        codes[0] = CODE_LEFTALT, codes[1] = CODE_SYSRQ, codes[2] = gw_key_code(kname);
        *count = 3;
        return 1;
    }
    if (!strcmp(name, "break")) {
        vg_fail(err, VG_E_UNSUPPORTED,
                "keys: a serial break is not supported: libvirt has no call that sends one to "
                "a serial port; use sysrq-<letter> for the kernel's SysRq");
        return -1;
    }
    return 0;
}

int gw_keys_resolve(const char *const *names, int n, int *codes, int *count, vg_err *err)
{
    if (n == 0)
        return vg_fail(err, VG_E_BAD_REQUEST, "keys: name at least one key");
    if (n > GW_KEYS_MAX)
        return vg_fail(err, VG_E_BAD_REQUEST, "keys: at most %d keys are pressed together",
                       GW_KEYS_MAX);
    for (int i = 0; i < n; i++) {
        int s = shortcut(names[i], codes, count, err);
        if (s < 0)
            return VG_ERR;
        if (s > 0) {
            if (n > 1)
                return vg_fail(err, VG_E_BAD_REQUEST,
                               "keys: the shortcut \"%.40s\" is sent alone, without other keys",
                               names[i]);
            return VG_OK;
        }
        codes[i] = gw_key_code(names[i]);
        if (codes[i] < 0)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "keys: unknown key \"%.40s\" (KEY_* names of libvirt's linux keymap, "
                           "ctrl-alt-del or sysrq-<letter>)",
                           names[i]);
    }
    *count = n;
    return VG_OK;
}
