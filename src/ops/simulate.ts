export async function simulateCommand(_args: string[]): Promise<number> {
  process.stderr.write('simulate: not available yet\n');
  return 1;
}
