import { Module } from '@nestjs/common';
import { ApprovalCommandsController } from './commands.controller.js';
import { ApprovalReactionsController } from './reactions.controller.js';

@Module({ controllers: [ApprovalCommandsController, ApprovalReactionsController] })
export class ApprovalsModule {}
