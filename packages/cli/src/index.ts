/** @hakube/cli: the `hakube` command (see main.ts). */
export const CLI_NAME = 'hakube'
