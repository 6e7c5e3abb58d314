/**
 * How a command is declared: its name, usage, flags and what it runs. The parser (parse.ts) and the
 * help (help.ts) are both made from these declarations, so the two cannot disagree.
 */

/** What a flag's value must look like; checked by the parser, with a message naming flag, value and what is accepted. */
export type ValueType =
  | 'string'
  /** a whole number ≥ 0 (seconds, counts) */
  | 'uint'
  /** a whole number, may be negative */
  | 'int'
  /** any number (`--cpus 1.5`) */
  | 'number'
  /** a size: 64m, 1g, 1048576 */
  | 'bytes'
  /** Docker's times: an RFC 3339 date, a Unix timestamp, or a duration before now (10m, 1h30m) */
  | 'time';

export interface FlagDef {
  /** the long name, without dashes: `publish` */
  long: string;
  /** a one-letter name, without the dash: `p` */
  short?: string;
  /** more long names for the same flag (`net` for `network`) */
  aliases?: string[];
  /** bool: takes no value (but `--rm=false`); value: one value (the last one given wins); list: repeatable */
  kind: 'bool' | 'value' | 'list';
  /** the kind of value, for checks and for the help's placeholder (default `string`) */
  type?: ValueType;
  /** the only values accepted */
  choices?: string[];
  /** the placeholder shown in the help, when `type` says too little (`[IP:]HOST:CONTAINER`) */
  placeholder?: string;
  help: string;
  /** shown in the help as the default */
  default?: string;
  /** accepted but not listed (old spellings) */
  hidden?: boolean;
}

export type Flags = Record<string, string | boolean | string[]>;

/** What a command's implementation gets: its flags by long name, and the positional arguments. */
export interface ParsedCommand {
  /** `mayfly container ls` → ['container', 'ls'] */
  path: string[];
  flags: Flags;
  args: string[];
}

export type CommandFn = (cmd: ParsedCommand) => number | Promise<number>;

export interface CommandDef {
  name: string;
  aliases?: string[];
  /** one line for the list of commands */
  summary: string;
  /** what follows the command in the usage line: `[OPTIONS] IMAGE [COMMAND] [ARG...]` */
  usage?: string;
  /** more text for --help */
  description?: string;
  flags?: FlagDef[];
  /**
   * false: options end at the first positional argument (everything after the image is the
   * command) — `run`, `create`, `exec`. true (Docker's default): flags may follow arguments
   * (`mayfly inspect web --format …`), until `--`.
   */
  interspersed?: boolean;
  /** how many positional arguments it takes */
  minArgs?: number;
  maxArgs?: number;
  /** loaded only when this command runs: the CLI imports no more than the verb needs */
  load?: () => Promise<CommandFn>;
  subcommands?: CommandDef[];
  examples?: string[];
}

/** The flag every command has. */
export const HELP_FLAG: FlagDef = { long: 'help', kind: 'bool', help: 'print the usage of this command' };
