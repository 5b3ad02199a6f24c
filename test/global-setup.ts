import { execFileSync } from 'node:child_process';

/** Integration tests run the built bridge (`dist/`), as users do: build it once first. */
export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
