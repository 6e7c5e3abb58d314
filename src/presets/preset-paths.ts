/** Host folders a preset reads (a site, seed data, init scripts): relative to the working directory, checked before anything starts. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

export const existingDirectory = z
  .string()
  .min(1)
  .transform((p, ctx) => {
    const abs = resolve(p);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      ctx.addIssue({ code: 'custom', message: `no such directory: ${abs}` });
      return z.NEVER;
    }
    if (!isDir) {
      ctx.addIssue({ code: 'custom', message: `not a directory: ${abs}` });
      return z.NEVER;
    }
    return abs;
  });

export const existingFile = z
  .string()
  .min(1)
  .transform((p, ctx) => {
    const abs = resolve(p);
    let isFile = false;
    try {
      isFile = statSync(abs).isFile();
    } catch {
      ctx.addIssue({ code: 'custom', message: `no such file: ${abs}` });
      return z.NEVER;
    }
    if (!isFile) {
      ctx.addIssue({ code: 'custom', message: `not a file: ${abs}` });
      return z.NEVER;
    }
    return abs;
  });
