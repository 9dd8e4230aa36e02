/** The release version of stalker-storage. */
export const VERSION = "0.1.0";
